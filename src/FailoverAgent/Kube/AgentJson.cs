using System.Text.Json;
using System.Text.Json.Serialization;

namespace FailoverAgent.Kube;

/// <summary>The failover record on the Lease: the operator writes it, and the demoted agent when it hands the Lease over.</summary>
public sealed record FailoverAnnotation
{
    [JsonPropertyName("from"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? From { get; init; }
    [JsonPropertyName("to"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? To { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    /// <summary>As the operator wrote it in the fencing record: passed on, never parsed here.</summary>
    [JsonPropertyName("detectedAt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DetectedAt { get; init; }
    [JsonPropertyName("term")] public long? Term { get; init; }
    [JsonPropertyName("proof"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Proof { get; init; }
}

/// <summary>failover.dev/fencing: who held which term and is being fenced, since when, why.</summary>
public sealed record FencingAnnotation
{
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("term")] public long Term { get; init; }
    [JsonPropertyName("since")] public string? Since { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    /// <summary>The operator's choice of the pod to promote, and the fenced pod's UID (fields the agent reads, never writes).</summary>
    [JsonPropertyName("to"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? To { get; init; }
    [JsonPropertyName("uid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Uid { get; init; }
    [JsonPropertyName("detectedAt"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? DetectedAt { get; init; }
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
