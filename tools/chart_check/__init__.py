"""Pre-deploy chart check (`make chart-check`, `python -m tools.chart_check`).

For every Helm release the program registers (a mock run of each stack, tests/harness/program.py), fetch
the pinned chart (source.py), render it with the release's exact values through the Helm v4 engine of
`helm-python-sdk` for the target Kubernetes version (render.py, capabilities.py), and run over the rendered
objects the checks the program's own objects get (checks.py): Pod Security of the namespace each pod lands
in (pod_security/), schema validation, the policy pack and checkov. Findings print one a line (report.py);
any finding fails the run.
"""
