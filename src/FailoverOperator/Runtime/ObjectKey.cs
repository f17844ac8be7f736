using k8s;
using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>The one key format of the caches and the work queue: "namespace/name", or "name" for cluster-scoped objects.</summary>
public static class ObjectKey
{
    public static string Of(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    public static string Of(IKubernetesObject<V1ObjectMeta> obj) => Of(obj.Metadata.NamespaceProperty, obj.Metadata.Name);
}
