"""Generates a Python client from every file of proto/ (grpc_tools), into OUT_DIR.

Usage: python3 test/wire/python/generate.py [OUT_DIR] [PROTO_DIR]   (defaults: ./hyperfleet_py, ./proto)

Then put OUT_DIR on sys.path (or PYTHONPATH) and import:

    from hyperfleet.v1 import cluster_pb2, cluster_pb2_grpc      # the API
    from grpc_health.v1 import health_pb2, health_pb2_grpc        # grpc.health.v1.Health
    from grpc_reflection.v1alpha import reflection_pb2_grpc        # grpc.reflection.v1alpha
    from google.rpc import error_details_pb2                       # google.rpc.BadRequest, ...

Why not the proto paths as they are: grpc/health/v1/health.proto would become the module
grpc.health.v1.health_pb2, inside `grpc`, which is grpcio's own (regular) package. A directory of
ours named grpc can never be imported beside it: `import grpc` finds grpcio's, and grpc.health is
looked for in grpcio only. So every file under proto/grpc/<name>/ is generated as grpc_<name>/...
(protoc's -I VIRTUAL=DIR mapping), which is the module path of gRPC's own Python packages for those
protos (grpcio-health-checking's grpc_health.v1, grpcio-reflection's grpc_reflection.v1alpha): code
written against these stubs runs unchanged with those packages, and when both are installed only one
of each is imported, so the protobuf descriptor pool never sees the same file twice. The RPC names on
the wire come from the proto packages (grpc.health.v1.Health), which do not change.
Everything else keeps its path: hyperfleet/ is ours, and google/ is a namespace package that
protobuf's google.protobuf shares (google.rpc is where googleapis-common-protos puts it too).
"""
import os
import sys

from grpc_tools import protoc

try:  # Debian's python3-grpc-tools, and grpcio-tools from PyPI, ship the well-known types beside the module.
    from importlib.resources import files

    WELL_KNOWN = str(files("grpc_tools") / "_proto")
except Exception:  # pragma: no cover - very old Pythons
    WELL_KNOWN = os.path.join(os.path.dirname(protoc.__file__), "_proto")

# Top-level proto directories whose Python package is someone else's: generated as <prefix>_<name>/.
SHADOWED = {"grpc": "grpc_"}


def plan(proto_dir):
    """The protoc include mappings and the (virtual) input files for every .proto under proto_dir."""
    includes, inputs = [], []
    for top in sorted(os.listdir(proto_dir)):
        path = os.path.join(proto_dir, top)
        if not os.path.isdir(path):
            continue
        if top in SHADOWED:
            for name in sorted(os.listdir(path)):
                includes.append(f"-I{SHADOWED[top]}{name}={os.path.join(path, name)}")
                inputs += [os.path.join(f"{SHADOWED[top]}{name}", f) for f in protos(os.path.join(path, name))]
        else:
            inputs += [os.path.join(top, f) for f in protos(path)]
    # Unmapped files (and the imports between them) resolve from proto_dir itself.
    return includes + [f"-I{proto_dir}", f"-I{WELL_KNOWN}"], inputs


def protos(root):
    out = []
    for dirpath, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(dirpath, n), root) for n in names if n.endswith(".proto")]
    return sorted(out)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else "hyperfleet_py"
    proto_dir = argv[2] if len(argv) > 2 else "proto"
    os.makedirs(out_dir, exist_ok=True)
    includes, inputs = plan(proto_dir)
    code = protoc.main(["grpc_tools.protoc", *includes, f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *inputs])
    if code != 0:
        print(f"protoc failed ({code})", file=sys.stderr)
        return 1
    print("\n".join(inputs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
