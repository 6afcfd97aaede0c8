"""asv benchmark suites of kmbench (``asv.conf.json``: ``benchmark_dir: "suites"``)."""
