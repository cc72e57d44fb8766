"""Signals about searches, for apps that keep copies of their results (the REST API's stored
responses, portal/api/apps.py).

- `search_results_erased(search_public_ids)`: sent inside the transaction that deletes searches'
  matches and probes (a refused or overdue authorisation, portal/search/authorisations.py). A
  receiver removes its copies of those searches' results in the same transaction and returns how
  many it removed.
"""

from django.dispatch import Signal

search_results_erased = Signal()
