using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>The CRD manifest in crds/ is checked against the C# types, so the two cannot drift.</summary>
public class CrdSchemaTests
{
    private static readonly string CrdPath = RepoPaths.Of("crds", "failover.dev_highavailabilitygroups.yaml");
    private static V1CustomResourceDefinition Crd => KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(CrdPath));
    private static V1JSONSchemaProps Root => Crd.Spec.Versions.Single().Schema.OpenAPIV3Schema;

    [Fact]
    public void NamesMatchTheApiContract()
    {
        var crd = Crd;
        Assert.Equal($"{HighAvailabilityGroup.Plural}.{HighAvailabilityGroup.Group}", crd.Metadata.Name);
        Assert.Equal(HighAvailabilityGroup.Group, crd.Spec.Group);
        Assert.Equal(HighAvailabilityGroup.KindName, crd.Spec.Names.Kind);
        Assert.Equal(HighAvailabilityGroup.Plural, crd.Spec.Names.Plural);
        Assert.Equal(["hag"], crd.Spec.Names.ShortNames);
        Assert.Equal("Namespaced", crd.Spec.Scope);
        var version = crd.Spec.Versions.Single();
        Assert.Equal(HighAvailabilityGroup.Version, version.Name);
        Assert.NotNull(version.Subresources.Status);
        Assert.Equal(["Active", "Phase", "Ready Standbys", "Failovers", "Age"], version.AdditionalPrinterColumns.Select(c => c.Name));
    }

    [Fact]
    public void SpecSchemaMatchesTheSpecType() => AssertMatches(typeof(HighAvailabilityGroupSpec), Root.Properties["spec"], "spec");

    [Fact]
    public void StatusSchemaMatchesTheStatusType() => AssertMatches(typeof(HighAvailabilityGroupStatus), Root.Properties["status"], "status");

    [Fact]
    public void SchemaDefaultsAreTheTypesDefaults()
    {
        var defaults = new HighAvailabilityGroupSpec();
        var spec = Root.Properties["spec"];
        foreach (var property in JsonProperties(typeof(HighAvailabilityGroupSpec)).Where(p => p.Name != "selector"))
        {
            var schemaDefault = spec.Properties[property.Name].DefaultProperty;
            Assert.True(schemaDefault is not null, $"spec.{property.Name} has no default in the CRD");
            Assert.Equal(Convert.ToString(property.Info.GetValue(defaults))!.ToLowerInvariant(), Convert.ToString(schemaDefault)!.ToLowerInvariant());
        }
        Assert.Equal(["selector"], spec.Required);
        Assert.Equal((1.0, 3600.0), (spec.Properties["leaseDurationSeconds"].Minimum, spec.Properties["leaseDurationSeconds"].Maximum));
        Assert.Equal((0.0, 3600.0), (spec.Properties["failoverDelaySeconds"].Minimum, spec.Properties["failoverDelaySeconds"].Maximum));
        Assert.Equal(GroupPhase.All, Root.Properties["status"].Properties["phase"].EnumProperty.Select(Convert.ToString));
    }

    [Fact]
    public void TheChartCarriesAnIdenticalCrd()
    {
        var chartCopy = RepoPaths.Of("charts", "failover-operator", "crds", Path.GetFileName(CrdPath));
        Assert.True(File.Exists(chartCopy), $"{chartCopy} is missing: run `make crds`");
        Assert.True(File.ReadAllText(CrdPath) == File.ReadAllText(chartCopy), $"{chartCopy} differs from crds/: run `make crds`");
    }

    private sealed record JsonProperty(string Name, PropertyInfo Info);

    private static IEnumerable<JsonProperty> JsonProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p, attr: p.GetCustomAttribute<JsonPropertyNameAttribute>()))
            .Where(x => x.attr is not null)
            .Select(x => new JsonProperty(x.attr!.Name, x.p));

    private static void AssertMatches(Type type, V1JSONSchemaProps schema, string path)
    {
        var expected = JsonProperties(type).ToDictionary(p => p.Name);
        Assert.True(schema.Properties is not null, $"{path}: schema has no properties");
        Assert.Equal(expected.Keys.Order(), schema.Properties!.Keys.Order());
        foreach (var (name, property) in expected)
        {
            AssertTypeMatches(property.Info.PropertyType, schema.Properties[name], $"{path}.{name}");
        }
    }

    private static void AssertTypeMatches(Type type, V1JSONSchemaProps schema, string path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            Assert.True(schema.Type == "string", $"{path}: expected string, CRD says {schema.Type}");
        }
        else if (type == typeof(DateTime))
        {
            Assert.True((schema.Type, schema.Format) == ("string", "date-time"), $"{path}: expected a date-time string");
        }
        else if (type == typeof(int) || type == typeof(long))
        {
            Assert.True((schema.Type, schema.Format) == ("integer", type == typeof(int) ? "int32" : "int64"), $"{path}: expected {type.Name} integer");
        }
        else if (type == typeof(bool))
        {
            Assert.True(schema.Type == "boolean", $"{path}: expected boolean");
        }
        else if (type.IsGenericType && typeof(IDictionary).IsAssignableFrom(type) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)) || type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
        {
            Assert.True(schema.Type == "object" && schema.AdditionalProperties is not null, $"{path}: expected a map");
        }
        else if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type))
        {
            Assert.True(schema.Type == "array", $"{path}: expected array");
            AssertTypeMatches(type.GetGenericArguments()[0], schema.Items is V1JSONSchemaProps items ? items : KubernetesJson.Deserialize<V1JSONSchemaProps>(KubernetesJson.Serialize(schema.Items)), $"{path}[]");
        }
        else
        {
            Assert.True(schema.Type == "object", $"{path}: expected object");
            AssertMatches(type, schema, path);
        }
    }
}
