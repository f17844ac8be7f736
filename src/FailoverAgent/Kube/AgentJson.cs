using System.Text.Json;
using System.Text.Json.Serialization;

namespace FailoverAgent.Kube;

/// <summary>The failover record the operator writes on the Lease (the fields the agent reads).</summary>
public sealed record FailoverAnnotation
{
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("term")] public long? Term { get; init; }
}

/// <summary>failover.dev/fencing: who held which term and is being fenced, since when, why.</summary>
public sealed record FencingAnnotation
{
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("term")] public long Term { get; init; }
    [JsonPropertyName("since")] public string? Since { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}

/// <summary>/role's answer.</summary>
public sealed record RoleReport(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("term")] long Term,
    [property: JsonPropertyName("holder")] string? Holder,
    [property: JsonPropertyName("lastRenewal")] string? LastRenewal,
    [property: JsonPropertyName("observedResourceVersion")] string? ObservedResourceVersion);

/// <summary>The JSON body of a URL hook (the same facts as an exec hook's environment).</summary>
public sealed record HookPayload(
    [property: JsonPropertyName("group")] string Group,
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("pod")] string Pod,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("planned")] bool Planned,
    [property: JsonPropertyName("term")] long Term);

/// <summary>
/// Source-generated metadata for the agent's own JSON: Native AOT has no reflection-based
/// serializer. JsonElement is here because objects read from the server carry managedFields typed
/// object (a JsonElement), which the client's own context cannot write back.
/// </summary>
[JsonSerializable(typeof(FailoverAnnotation))]
[JsonSerializable(typeof(FencingAnnotation))]
[JsonSerializable(typeof(RoleReport))]
[JsonSerializable(typeof(HookPayload))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, Dictionary<string, string>>>))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class AgentJsonContext : JsonSerializerContext;
