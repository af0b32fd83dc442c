"""A Python gRPC client generated from proto/ (grpc_tools), exercising the contract's promise to
other languages, with the API's bearer-token authentication (issue 18).

Usage: HF_TOKEN=<jwt> client.py HOST:PORT GEN_DIR [CA_FILE]

GEN_DIR is what generate.py wrote from all of proto/: the API's stubs as hyperfleet.v1, the health
service's as grpc_health.v1 (not grpc.health.v1, which grpcio's own grpc package would hide; issue 19).
Health needs no token: it is checked first, without one, as a probe would.

The token goes in each call's metadata as `authorization: Bearer <jwt>` (from the environment rather
than argv, so that it does not show in the process list). CA_FILE, when given, is the hook for TLS:
the channel is then a secure one trusting that CA (grpc.ssl_channel_credentials); without it the
channel is plaintext. Prints one JSON line with what it saw."""
import json
import os
import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from google.protobuf import struct_pb2, timestamp_pb2  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from hyperfleet.v1 import cluster_pb2, cluster_pb2_grpc, condition_pb2, status_pb2, status_pb2_grpc  # noqa: E402

target = sys.argv[1]
ca_file = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
if ca_file:
    with open(ca_file, "rb") as f:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()))
else:
    channel = grpc.insecure_channel(target)

token = os.environ.get("HF_TOKEN", "")
auth = [("authorization", f"Bearer {token}")] if token else []

# Health/Check without credentials, for the whole server and for one of its services.
health = health_pb2_grpc.HealthStub(channel)
served = {
    name or "(server)": health_pb2.HealthCheckResponse.ServingStatus.Name(health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status)
    for name in ("", "hyperfleet.v1.ClusterService")
}
try:
    health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    served["no.such.Service"] = "OK"
except grpc.RpcError as err:
    served["no.such.Service"] = err.code().name

clusters = cluster_pb2_grpc.ClusterServiceStub(channel)
statuses = status_pb2_grpc.StatusServiceStub(channel)

spec = struct_pb2.Struct()
spec.update({"region": "eu-west-1"})
cluster = clusters.CreateCluster(cluster_pb2.CreateClusterRequest(name="py-client", labels={"lang": "python"}, spec=spec), timeout=5, metadata=auth)

now = timestamp_pb2.Timestamp()
now.GetCurrentTime()
conditions = [condition_pb2.Condition(type=t, status=condition_pb2.CONDITION_STATUS_TRUE) for t in ("Applied", "Available", "Health")]
reply = statuses.ReportStatus(
    status_pb2.ReportStatusRequest(resource_id=cluster.id, adapter="validation", observed_generation=1, observed_time=now, conditions=conditions),
    timeout=5,
    metadata=auth,
)
try:
    clusters.CreateCluster(cluster_pb2.CreateClusterRequest(name="py-client", spec=spec), timeout=5, metadata=auth)
    duplicate = "OK"
except grpc.RpcError as err:
    duplicate = err.code().name

# The same read without the metadata: the API must refuse it.
try:
    clusters.GetCluster(cluster_pb2.GetClusterRequest(id=cluster.id), timeout=5)
    anonymous = {"code": "OK", "details": ""}
except grpc.RpcError as err:
    anonymous = {"code": err.code().name, "details": err.details()}

print(json.dumps({
    "id": cluster.id,
    "generation": cluster.generation,
    "region": cluster.spec["region"],
    "created_by": cluster.created_by,
    "stored": reply.stored,
    "outcome": status_pb2.ReportOutcome.Name(reply.outcome),
    "duplicate": duplicate,
    "anonymous": anonymous,
    "health": served,
    # Where the modules came from: grpc must still be grpcio's, the stubs ours.
    "grpc_module": grpc.__file__,
    "health_module": health_pb2.__file__,
}))
