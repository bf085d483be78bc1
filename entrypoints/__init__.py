"""The ways in: the ``ledger`` command and the one ``bootstrap()`` that wires settings,
database, application and read side for it, the server, the demo, the benches and
the tests. Nothing imports this package but its users at the edge."""
