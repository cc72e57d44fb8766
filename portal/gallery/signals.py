"""Signals about gallery data, for apps that hold copies of it elsewhere (the REST API keeps
stored responses that name faces). Senders need not know who holds copies; receivers return
what they did, so deletion can count it and verification can prove nothing is left.

- `faces_deleted(face_uuids)`: sent inside the transaction that deletes faces (a tenant deleting
  a picture or a subject, or an order's enforcement batch). A receiver removes its copies naming
  those faces in the same transaction, so they go if and only if the faces go, and returns
  {tenant id: copies removed}.
  Senders add `cause`: {"kind": "order" or "erasure", "reference", "order_id", "skip_tenant_ids"},
  which the recall notices of search (portal/search/recalls.py, GDPR Art. 19) name.
- `faces_restricted(face_uuids, cause)`: sent inside the transaction that withholds faces (an
  order's coverage); receivers return {} as they remove nothing.
- `gallery_erased(tenant_ids)`: the tenants' galleries are being erased whole (offboarding). A
  receiver removes every copy of those tenants' data and returns {tenant id: copies removed}.
- `copies_dangling_count(tenant_ids, any_copy)`: a receiver returns how many of its copies (of
  the tenants given, or all with None) still name a face that no longer exists; with `any_copy`,
  how many copies of those tenants it holds at all. Order verification requires 0.

The REST API connects faces_deleted, gallery_erased and copies_dangling_count (portal/api/apps.py);
search's recall notices connect faces_deleted, faces_restricted and gallery_erased (portal/search/apps.py).
"""

from django.dispatch import Signal

faces_deleted = Signal()
faces_restricted = Signal()
gallery_erased = Signal()
copies_dangling_count = Signal()
