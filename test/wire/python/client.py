"""A Python gRPC client generated from proto/ (grpc_tools), exercising the contract's promise to
other languages. Usage: client.py HOST:PORT GEN_DIR. Prints one JSON line with what it saw."""
import json
import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
from google.protobuf import struct_pb2, timestamp_pb2  # noqa: E402
from hyperfleet.v1 import cluster_pb2, cluster_pb2_grpc, condition_pb2, status_pb2, status_pb2_grpc  # noqa: E402

channel = grpc.insecure_channel(sys.argv[1])
clusters = cluster_pb2_grpc.ClusterServiceStub(channel)
statuses = status_pb2_grpc.StatusServiceStub(channel)

spec = struct_pb2.Struct()
spec.update({"region": "eu-west-1"})
cluster = clusters.CreateCluster(cluster_pb2.CreateClusterRequest(name="py-client", labels={"lang": "python"}, spec=spec), timeout=5)

now = timestamp_pb2.Timestamp()
now.GetCurrentTime()
conditions = [condition_pb2.Condition(type=t, status=condition_pb2.CONDITION_STATUS_TRUE) for t in ("Applied", "Available", "Health")]
reply = statuses.ReportStatus(
    status_pb2.ReportStatusRequest(resource_id=cluster.id, adapter="validation", observed_generation=1, observed_time=now, conditions=conditions),
    timeout=5,
)
try:
    clusters.CreateCluster(cluster_pb2.CreateClusterRequest(name="py-client", spec=spec), timeout=5)
    duplicate = "OK"
except grpc.RpcError as err:
    duplicate = err.code().name

print(json.dumps({
    "id": cluster.id,
    "generation": cluster.generation,
    "region": cluster.spec["region"],
    "stored": reply.stored,
    "outcome": status_pb2.ReportOutcome.Name(reply.outcome),
    "duplicate": duplicate,
}))
