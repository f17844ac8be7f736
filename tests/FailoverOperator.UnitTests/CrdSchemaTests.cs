using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using FailoverOperator.Failover;
using FailoverOperator.Manifests;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>
/// The CRD and the chart's RBAC rules are generated from the C# code (make crds): the committed files
/// must be what the generator writes, and the committed CRD must say what the C# types say.
/// </summary>
public class CrdSchemaTests
{
    public static TheoryData<string> GeneratedPaths => [.. GeneratedFiles.All().Select(f => f.Path)];

    private static readonly string CrdPath = RepoPaths.Of("crds", CrdGenerator.FileName(typeof(HighAvailabilityGroup)));
    private static V1CustomResourceDefinition Crd => KubernetesYaml.Deserialize<V1CustomResourceDefinition>(File.ReadAllText(CrdPath));
    private static V1JSONSchemaProps Root => Crd.Spec.Versions.Single().Schema.OpenAPIV3Schema;

    [Theory]
    [MemberData(nameof(GeneratedPaths))]
    public void TheCommittedFileIsTheGeneratedOne(string path)
    {
        var generated = GeneratedFiles.All().Single(f => f.Path == path).Content;
        var committed = RepoPaths.Of(path);
        Assert.True(File.Exists(committed), $"{path} is missing: run make crds");
        Assert.True(File.ReadAllText(committed) == generated, $"{path} differs from the generated one: run make crds");
    }

    [Fact]
    public void TheChartCarriesTheCrdAndTheRbacRules()
    {
        var paths = GeneratedFiles.All().Select(f => f.Path.Replace('\\', '/')).ToList();
        Assert.Contains("crds/failover.dev_highavailabilitygroups.yaml", paths);
        Assert.Contains("charts/failover-operator/crds/failover.dev_highavailabilitygroups.yaml", paths);
        Assert.Contains("charts/failover-operator/templates/_rbac-rules.tpl", paths);
    }

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
    public void EmbeddedKubernetesTypesKeepTheirConstraints()
    {
        var spec = Root.Properties["spec"];
        var status = Root.Properties["status"];
        Assert.Equal(["spec"], Root.Required);
        var selector = spec.Properties["selector"];
        Assert.Equal(1, selector.MinProperties);
        var requirement = Items(selector.Properties["matchExpressions"]);
        Assert.Equal(["key", "operator"], requirement.Required.Order());
        Assert.Equal(["In", "NotIn", "Exists", "DoesNotExist"], requirement.Properties["operator"].EnumProperty.Select(Convert.ToString));
        var conditions = status.Properties["conditions"];
        Assert.Equal("map", conditions.XKubernetesListType);
        Assert.Equal(["type"], conditions.XKubernetesListMapKeys);
        var condition = Items(conditions);
        Assert.Equal(["lastTransitionTime", "message", "reason", "status", "type"], condition.Required.Order());
        Assert.Equal(["True", "False", "Unknown"], condition.Properties["status"].EnumProperty.Select(Convert.ToString));
        // Written as null to clear them in the status merge patch.
        Assert.True(status.Properties["activeFailure"].Nullable);
        Assert.True(status.Properties["activePod"].Nullable);
        Assert.Equal(316, spec.Properties["roleLabelKey"].MaxLength);
        Assert.Matches(spec.Properties["roleLabelKey"].Pattern, HighAvailabilityGroupSpec.DefaultRoleLabelKey);
    }

    private static V1JSONSchemaProps Items(V1JSONSchemaProps array) =>
        array.Items as V1JSONSchemaProps ?? KubernetesJson.Deserialize<V1JSONSchemaProps>(KubernetesJson.Serialize(array.Items));

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
            AssertTypeMatches(type.GetGenericArguments()[0], Items(schema), $"{path}[]");
        }
        else
        {
            Assert.True(schema.Type == "object", $"{path}: expected object");
            AssertMatches(type, schema, path);
        }
    }
}
