"""Evaluation: Melting Pot scenarios of our substrate (`scenario.py`) and
`umd evaluate`, which scores populations against them (`evaluate.py`) and
writes its table and files (`report.py`)."""
