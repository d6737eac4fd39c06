""".ci/run's install of the fault tests' server programs: on a fresh machine it must start
no service and create no PostgreSQL cluster, or the real-services run (skipped when nothing
answers on 5432 and 6379) would connect to them and fail. The shell function is run here
against a temporary directory, with apt-get replaced by a recorder: nothing is installed."""

import re
import subprocess
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parent.parent / ".ci" / "run"

FAKE_APT_GET = """#!/bin/sh
# Records what a package's scripts would meet: the policy-rc.d's answer, the cluster setting.
if [ "$1" = install ]; then
  "$ROOT/usr/sbin/policy-rc.d" redis-server start
  echo "policy-rc.d: $?" >>"$ROOT/record"
  cat "$ROOT/etc/postgresql-common/createcluster.d/portal-ci.conf" >>"$ROOT/record"
  exit "${APT_STATUS:-0}"
fi
"""


def _install(root: Path, apt_status: int = 0) -> subprocess.CompletedProcess:
    text = CI_RUN.read_text()
    match = re.search(r"^install_without_services\(\) \{\n.*?^\}\n", text, re.M | re.S)
    assert match, ".ci/run defines install_without_services"
    function = (
        match.group(0)
        .replace("/usr/sbin/policy-rc.d", f"{root}/usr/sbin/policy-rc.d")
        .replace("/etc/postgresql-common", f"{root}/etc/postgresql-common")
    )
    (root / "bin").mkdir()
    (root / "usr" / "sbin").mkdir(parents=True, exist_ok=True)
    apt_get = root / "bin" / "apt-get"
    apt_get.write_text(FAKE_APT_GET)
    apt_get.chmod(0o755)
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{function}\ninstall_without_services redis-server"],
        env={"PATH": f"{root}/bin:/usr/bin:/bin", "ROOT": str(root), "APT_STATUS": str(apt_status)},
        capture_output=True,
        text=True,
    )


def test_the_ci_install_starts_no_service_and_creates_no_cluster_then_removes_its_policy(
    tmp_path,
):
    result = _install(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "record").read_text() == "policy-rc.d: 101\ncreate_main_cluster = false\n"
    assert not (tmp_path / "usr" / "sbin" / "policy-rc.d").exists()


@pytest.mark.parametrize("apt_status", [0, 100])
def test_the_ci_install_puts_back_a_policy_that_was_already_there(tmp_path, apt_status):
    policy = tmp_path / "usr" / "sbin" / "policy-rc.d"
    original = "#!/bin/sh\nexit 0\n"

    policy.parent.mkdir(parents=True)
    policy.write_text(original)
    policy.chmod(0o755)
    result = _install(tmp_path, apt_status)
    assert (result.returncode == 0) == (apt_status == 0)
    assert (tmp_path / "record").read_text().startswith("policy-rc.d: 101\n")
    assert policy.read_text() == original
    assert policy.stat().st_mode & 0o777 == 0o755
