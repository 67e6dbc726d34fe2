"""The aggregate core: gam's AM API v3 delegate and what runs it.

- :mod:`.delegate`: :class:`Aggregate`, the :class:`gam.rpc.delegate.AMDelegate`;
- :mod:`.wants`: a request RSpec checked against the inventory;
- :mod:`.allocation`: Allocate's one transaction (bookings + sliver rows);
- :mod:`.lifecycle`: provision, renew, actions, delete, shutdown, recovery;
- :mod:`.driving`: plans to the drivers manager, its reports to the database;
- :mod:`.resources`: the inventory as schedule resources and claims;
- :mod:`.advertise`, :mod:`.manifest`, :mod:`.version`: what the AM answers;
- :mod:`.expiry`: the LoopingCall that frees expired slivers;
- :mod:`.service`: :class:`AMService`, everything wired in start/stop order.

Nothing is imported here: import from the modules.
"""
