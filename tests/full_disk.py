"""Run inside a private mount namespace (tests/test_quiet.py): a tmpfs at MOUNT, filled to leave LEAVE kB,
then one fedcut command; prints as JSON its status, stderr and what the tmpfs holds before and after."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

mount, leave, copy_from, *args = sys.argv[1:]
mount = Path(mount)
if copy_from != "-":
    shutil.copytree(copy_from, mount / "run")


def held() -> dict:
    return {
        str(p.relative_to(mount)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in sorted(mount.rglob("*"))
        if p.name != "filler"
    }


def fill(keep_kb: int) -> None:
    stat = os.statvfs(mount)
    free_kb = stat.f_bavail * stat.f_frsize // 1024
    with open(mount / "filler", "wb") as f:
        f.write(b"\0" * max(0, free_kb - keep_kb) * 1024)


before = held()
fill(int(leave))
done = subprocess.run([sys.executable, *args], capture_output=True, text=True)
after = held()
os.remove(mount / "filler")
print(json.dumps({"code": done.returncode, "stderr": done.stderr, "before": before, "after": after}))
