namespace FailoverOperator.Runtime;

public static class DictionaryExtensions
{
    /// <summary>A label or annotation value, or null (the generated models use IDictionary, which is ambiguous for GetValueOrDefault).</summary>
    public static string? ValueOf(this IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;
}
