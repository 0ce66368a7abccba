"""Rerun the golden outcomes, print what changed beyond tolerance, and rewrite tests/golden/outcomes.json.

    python tests/golden/refresh.py          # print the changes and rewrite the file
    python tests/golden/refresh.py --check  # print the changes only (exit 1 if any)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import golden  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only print the changes; exit 1 if there are any")
    a = ap.parse_args()
    fresh = golden.compute()
    changed = golden.differences(golden.load(), fresh) if golden.FILE.exists() else ["(no stored file yet)"]
    print("\n".join(changed) if changed else "no value moved beyond its tolerance")
    if a.check:
        return 1 if changed else 0
    golden.FILE.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    print(f"wrote {golden.FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
