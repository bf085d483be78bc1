"""The README's library example runs as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_library_example_in_the_readme_runs(database_url: str, tmp_path: Path):
    example = re.search(
        r"## Use it as a Python library\n\n```python\n(.*?)```", README.read_text(), re.S
    )
    assert example is not None
    env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(tmp_path)}
    script = example.group(1) + "\nprint('balance', ledger.get_account(member).balance)\n"
    script = script.replace("    ledger.close()\n", "")
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4.8" in result.stdout.splitlines()[0]
    assert result.stdout.splitlines()[-1] == "balance 1.8"
