using System.Collections;
using System.ComponentModel;
using System.Reflection;
using System.Text.Json.Serialization;
using FailoverOperator.Runtime.Schema;
using k8s.Models;

namespace FailoverOperator.Manifests;

/// <summary>
/// The OpenAPI v3 schema of a C# type, as a CRD needs it (structural: every field typed, no CEL, so
/// Kubernetes 1.20 accepts it too). Field names come from [JsonPropertyName], in declaration order;
/// constraints from the attributes of FailoverOperator.Runtime.Schema.
/// </summary>
public static class SchemaGenerator
{
    public sealed record JsonField(string Name, PropertyInfo Property);

    /// <summary>The serialized fields of a type, in declaration order (metadata order is stable, unlike GetProperties').</summary>
    public static IReadOnlyList<JsonField> Fields(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, attr: p.GetCustomAttribute<JsonPropertyNameAttribute>()))
            .Where(x => x.attr is not null && x.p.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition != JsonIgnoreCondition.Always)
            .OrderBy(x => x.p.MetadataToken)
            .Select(x => new JsonField(x.attr!.Name, x.p))
            .ToList();

    public static V1JSONSchemaProps ForObject(Type type, string path)
    {
        if (KnownTypes.Opaque(type) is { } opaque) return opaque;
        var properties = new Dictionary<string, V1JSONSchemaProps>();
        var required = new List<string>();
        object? instance = null;
        foreach (var (name, property) in Fields(type))
        {
            var fieldPath = $"{path}.{name}";
            var schema = ForType(property.PropertyType, fieldPath);
            Constrain(schema, property, fieldPath, () => instance ??= Activator.CreateInstance(type)
                ?? throw new InvalidOperationException($"{path}: {type.Name} has no parameterless constructor for its [Default]s"));
            if (KnownTypes.EnumValues(type, name) is { } values) schema.EnumProperty = [.. values];
            properties[name] = schema;
            if (property.IsDefined(typeof(RequiredAttribute)) || KnownTypes.IsRequired(type, name)) required.Add(name);
        }
        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = type.GetCustomAttribute<DescriptionAttribute>()?.Description,
            Properties = properties,
            Required = required.Count > 0 ? required : null,
        };
    }

    private static V1JSONSchemaProps ForType(Type type, string path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return new() { Type = "string" };
        if (type == typeof(bool)) return new() { Type = "boolean" };
        if (type == typeof(int)) return new() { Type = "integer", Format = "int32" };
        if (type == typeof(long)) return new() { Type = "integer", Format = "int64" };
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset)) return new() { Type = "string", Format = "date-time" };
        if (GenericArguments(type, typeof(IDictionary<,>)) is [var key, var value])
        {
            if (key != typeof(string)) throw new NotSupportedException($"{path}: a map's keys must be strings, not {key.Name}");
            return new() { Type = "object", AdditionalProperties = ForType(value, path + "{}") };
        }
        if (GenericArguments(type, typeof(IEnumerable<>)) is [var item]) return new() { Type = "array", Items = ForType(item, path + "[]") };
        if (type.IsClass && !typeof(IEnumerable).IsAssignableFrom(type) && type != typeof(object)) return ForObject(type, path);
        throw new NotSupportedException($"{path}: no schema for {type.Name}; map it in SchemaGenerator or KnownTypes");
    }

    private static Type[]? GenericArguments(Type type, Type openInterface) =>
        (type.IsInterface ? type.GetInterfaces().Append(type) : type.GetInterfaces())
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == openInterface)?.GetGenericArguments();

    private static void Constrain(V1JSONSchemaProps schema, PropertyInfo property, string path, Func<object> newInstance)
    {
        if (property.GetCustomAttribute<DescriptionAttribute>() is { } description) schema.Description = description.Description;
        if (property.GetCustomAttribute<RangeAttribute>() is { } range) (schema.Minimum, schema.Maximum) = (range.Minimum, range.Maximum);
        if (property.GetCustomAttribute<MaxLengthAttribute>() is { } maxLength) schema.MaxLength = maxLength.Length;
        if (property.GetCustomAttribute<PatternAttribute>() is { } pattern) schema.Pattern = pattern.Pattern;
        if (property.GetCustomAttribute<MinPropertiesAttribute>() is { } minProperties) schema.MinProperties = minProperties.Count;
        if (property.GetCustomAttribute<EnumValuesAttribute>() is { } values) schema.EnumProperty = [.. values.Values];
        if (property.GetCustomAttribute<ListMapKeysAttribute>() is { } keys)
        {
            (schema.XKubernetesListType, schema.XKubernetesListMapKeys) = ("map", [.. keys.Keys]);
        }
        if (property.IsDefined(typeof(DefaultAttribute)))
        {
            schema.DefaultProperty = property.GetValue(newInstance())
                ?? throw new InvalidOperationException($"{path}: [Default] but a new {property.DeclaringType!.Name} has no value for it");
        }
        // A field the operator writes as null (to remove it in a merge patch) must be allowed to be null.
        if (property.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition == JsonIgnoreCondition.Never) schema.Nullable = true;
    }
}
