import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_setup_without_python_310_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh")],
        env={**os.environ, "PYTHON": "/nonexistent/python3.10", "VENV": str(tmp_path / "venv")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "setup: Python 3.10 not found (Rasa 3.6 needs Python 3.8-3.10). Install it (e.g. "
        "'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv') and run again."
    ]
    assert not (tmp_path / "venv").exists()
