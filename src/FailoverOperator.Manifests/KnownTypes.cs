using k8s.Models;

namespace FailoverOperator.Manifests;

/// <summary>
/// What the KubernetesClient models of embedded Kubernetes types do not say by themselves (upstream it
/// is in Go struct tags and comments): their required fields and closed value sets. Their field names
/// and types are read from the models like any other type.
/// </summary>
internal static class KnownTypes
{
    private static readonly Dictionary<Type, string[]> Required = new()
    {
        [typeof(V1LabelSelectorRequirement)] = ["key", "operator"],
        [typeof(V1Condition)] = ["type", "status", "lastTransitionTime", "reason", "message"],
    };

    private static readonly Dictionary<(Type, string), string[]> Enums = new()
    {
        [(typeof(V1LabelSelectorRequirement), "operator")] = ["In", "NotIn", "Exists", "DoesNotExist"],
        [(typeof(V1Condition), "status")] = ["True", "False", "Unknown"],
    };

    public static bool IsRequired(Type type, string field) => Required.TryGetValue(type, out var fields) && fields.Contains(field);

    public static IReadOnlyList<string>? EnumValues(Type type, string field) => Enums.GetValueOrDefault((type, field));

    /// <summary>
    /// Object metadata is validated by the API server itself; a CRD may only say it is an object
    /// (a schema for its fields would be ignored or rejected).
    /// </summary>
    public static V1JSONSchemaProps? Opaque(Type type) => type == typeof(V1ObjectMeta) ? new() { Type = "object" } : null;
}
