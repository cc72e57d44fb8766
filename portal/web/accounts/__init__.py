"""A person's own account, across their tenants: signed-in browsers, the password someone else
saw, two-factor log-in, and the owner's view of lock-outs (#14, item 13)."""
