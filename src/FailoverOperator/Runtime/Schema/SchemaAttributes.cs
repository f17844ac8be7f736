namespace FailoverOperator.Runtime.Schema;

// The CRD's OpenAPI schema is generated from the C# types (make crds): these attributes carry what a
// C# type cannot say by itself. Descriptions use System.ComponentModel.DescriptionAttribute; field
// names and types come from [JsonPropertyName] and the property types.

/// <summary>The field must be present.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;

/// <summary>
/// The API server fills the field in when it is absent, with the value the property has on a new
/// instance of its class (so the C# default and the CRD default cannot differ).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute : Attribute;

/// <summary>An integer field's inclusive bounds.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute(long minimum, long maximum) : Attribute
{
    public long Minimum { get; } = minimum;
    public long Maximum { get; } = maximum;
}

/// <summary>A string field must match this (ECMA 262) regular expression.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}

/// <summary>A string field's maximum length.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaxLengthAttribute(int length) : Attribute
{
    public int Length { get; } = length;
}

/// <summary>An object field must have at least this many properties (1: must not be empty).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinPropertiesAttribute(int count) : Attribute
{
    public int Count { get; } = count;
}

/// <summary>
/// A string field may only take these values. Either listed here, or read from a static string-array
/// field or property of a class of constants (e.g. <c>[EnumValues(typeof(GroupPhase), nameof(GroupPhase.All))]</c>),
/// so the code's list and the schema's are one.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class EnumValuesAttribute : Attribute
{
    public EnumValuesAttribute(params string[] values) => Values = values;

    public EnumValuesAttribute(Type constants, string member)
    {
        const System.Reflection.BindingFlags flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static;
        var value = constants.GetField(member, flags)?.GetValue(null) ?? constants.GetProperty(member, flags)?.GetValue(null);
        Values = value as IReadOnlyList<string>
            ?? throw new ArgumentException($"{constants.Name}.{member} is not a public static list of strings", nameof(member));
    }

    public IReadOnlyList<string> Values { get; }
}

/// <summary>
/// A list whose items are identified by these keys (x-kubernetes-list-type: map), as Kubernetes
/// conditions are by type: server-side apply and strategic merges then merge items by key.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapKeysAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>A custom resource's short name for kubectl (kubectl get hag).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class ShortNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// A column of kubectl get, in declaration order. Type is an OpenAPI type or format: string,
/// integer, number, boolean, date. Priority 0 is shown by default, higher only with -o wide.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string jsonPath, string type) : Attribute
{
    public string Name { get; } = name;
    public string JsonPath { get; } = jsonPath;
    public string Type { get; } = type;
    public int Priority { get; init; }
    public string? Description { get; init; }
}
