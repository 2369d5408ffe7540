"""The sync engine: jobs from a change to the platform, one module per concern.

- ``publish``: the jobs a change writes and the task published for each after commit;
- ``queue``: a manual request, the initial sync events, a job put back to pending;
- ``claim``: a worker takes a record's due job under a lease;
- ``run``: a claimed job run (``SyncContext``, the checks, the connector's push, errors);
- ``dependencies``: what a record needs synced first, through its own job;
- ``finish``: the job's outcome recorded, or the job back in the queue;
- ``push`` and ``records``: platform records pushed, hashed, looked up and bound;
- ``actions``: staff retry, skip and map; the manual customer sync;
- ``sweep``: dead workers' jobs released, lost publishes redone, jobs run in-process;
- ``scope``: what a job and its dependencies' jobs share while it runs.

docs/sync-engine.md tells the whole flow.
"""
