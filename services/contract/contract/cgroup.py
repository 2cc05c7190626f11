"""Start-up check shared by the services: is the kernel's memory cgroup on (pure file reads)?

Raspberry Pi OS kernels ship with the memory controller disabled; Docker then drops every
`mem_limit` with only a warning at `docker compose up`, so each service says so in its own log.
"""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUPS = Path("/proc/cgroups")

MEMORY_CGROUP_WARNING = (
    "the kernel's memory cgroup is disabled, so compose memory limits do nothing: on a Raspberry Pi "
    "append 'cgroup_enable=memory' to the single line in /boot/firmware/cmdline.txt "
    "(/boot/cmdline.txt before Bookworm) and reboot"
)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def memory_cgroup_enabled(root: Path = CGROUP_ROOT, proc_cgroups: Path = PROC_CGROUPS) -> bool:
    """False when the kernel runs without the memory controller (compose's mem_limit then does nothing).

    cgroup v2: `memory` is listed in `cgroup.controllers`. cgroup v1: the `enabled` column of the
    `memory` line of /proc/cgroups is 1. Neither file readable: assumed off.
    """
    controllers = _read(root / "cgroup.controllers")
    if controllers is not None:
        return "memory" in controllers.split()
    for line in (_read(proc_cgroups) or "").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "memory":
            return fields[3] == "1"
    return False
