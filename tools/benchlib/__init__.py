"""tools/bench: a benchmark of any Glance Images API v2 endpoint (imgreg or OpenStack Glance).

``python -m benchlib`` (what tools/bench runs) is ``cli.main``; cli.py's docstring is the
``--help`` text. One concept a module:

* sizes: how many requests, images and MiB a run uses (full and --quick);
* client: HTTP to the endpoint (keep-alive connections, chunked PUT) and BenchError;
* procs: the server's processes read from /proc (CPU seconds, RSS);
* stats: percentiles and latency summaries;
* target: one endpoint under test and what its run collected;
* load: N requests from C threads, timed (load_run);
* payload: the data uploaded and its digests;
* phases: the API request phases (check, seed, GET/list/create/PATCH, cycles, cleanup);
* upload, download: the data phases;
* run: the phase loop over the targets, and the cleanup;
* report: the figures, the table (text and Markdown), the progress notes;
* machine: what the client machine is.
"""
