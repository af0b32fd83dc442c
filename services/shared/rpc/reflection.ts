import type { ConnectRouter } from "@connectrpc/connect";
import { create, toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type Versions = typeof v1 | typeof v1alpha;

/**
 * Registers gRPC server reflection (v1 and v1alpha) for `services`, so buf curl and grpcurl can list
 * services and call methods with no proto file at hand. Answers list_services, file_by_filename and
 * file_containing_symbol with each file and its transitive dependencies.
 */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const all = [...services, v1.ServerReflection, v1alpha.ServerReflection];
  const registry = indexFiles(all.map((s) => s.file));
  const names = all.map((s) => s.typeName);
  for (const pkg of [v1, v1alpha] as Versions[]) {
    router.service(pkg.ServerReflection as typeof v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield answer(pkg, req, registry, names);
      },
    });
  }
}

function answer(
  pkg: Versions,
  req: v1.ServerReflectionRequest,
  registry: FileIndex,
  serviceNames: string[],
): v1.ServerReflectionResponse {
  const base = { validHost: req.host, originalRequest: req };
  const r = req.messageRequest;
  const error = (message: string) =>
    create(pkg.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
      ...base,
      messageResponse: { case: "errorResponse", value: { errorCode: 5, errorMessage: message } },
    });
  const files = (file: DescFile | undefined) =>
    file === undefined
      ? undefined
      : create(pkg.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDeps(file) } },
        });
  switch (r.case) {
    case "listServices":
      return create(pkg.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } },
      });
    case "fileByFilename":
      return files(registry.byName.get(r.value)) ?? error(`file not found: ${r.value}`);
    case "fileContainingSymbol": {
      const symbol = r.value.replace(/^\./, "");
      const method = symbol.slice(0, symbol.lastIndexOf("."));
      return files(registry.bySymbol.get(symbol) ?? registry.bySymbol.get(method)) ?? error(`symbol not found: ${r.value}`);
    }
    case "fileContainingExtension":
      return error("extensions are not supported");
    case "allExtensionNumbersOfType":
      return create(pkg.ServerReflectionResponseSchema as typeof v1.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: [] } },
      });
    default:
      return error("unsupported reflection request");
  }
}

interface FileIndex {
  byName: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
}

/** Every file reachable from `roots`, by file name and by the full name of each type it declares. */
function indexFiles(roots: DescFile[]): FileIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const addMessage = (m: DescMessage, file: DescFile) => {
    bySymbol.set(m.typeName, file);
    m.nestedMessages.forEach((n) => addMessage(n, file));
    m.nestedEnums.forEach((e) => bySymbol.set(e.typeName, file));
  };
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    file.messages.forEach((m) => addMessage(m, file));
    file.enums.forEach((e) => bySymbol.set(e.typeName, file));
    file.services.forEach((s) => {
      bySymbol.set(s.typeName, file);
      s.methods.forEach((m) => bySymbol.set(`${s.typeName}.${m.name}`, file));
    });
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return { byName, bySymbol };
}

function withDeps(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.add(f.proto.name);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
    f.dependencies.forEach(visit);
  };
  visit(file);
  return out;
}
