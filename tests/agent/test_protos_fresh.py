"""The committed gRPC modules are what `make protos` generates from the committed .proto files."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTOS = Path("blockvisor_core/protos")


def test_generated_modules_match_the_protos(tmp_path):
    protos = sorted(path.relative_to(ROOT) for path in (ROOT / PROTOS).glob("*.proto"))
    assert protos, f"no .proto files in {PROTOS}"
    (tmp_path / PROTOS).mkdir(parents=True)
    for proto in protos:
        shutil.copy(ROOT / proto, tmp_path / proto)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", ".", "--python_out=.", "--pyi_out=.",
         "--grpc_python_out=.", *map(str, protos)],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    generated = sorted(path.name for path in (tmp_path / PROTOS).iterdir() if path.suffix != ".proto")
    committed = sorted(path.name for path in (ROOT / PROTOS).glob("*_pb2*"))
    assert committed == generated, "generated modules are missing or left over; run `make protos`"
    stale = [
        name
        for name in generated
        if (tmp_path / PROTOS / name).read_bytes() != (ROOT / PROTOS / name).read_bytes()
    ]
    assert not stale, f"{', '.join(stale)} differ from their .proto; run `make protos` and commit the result"
