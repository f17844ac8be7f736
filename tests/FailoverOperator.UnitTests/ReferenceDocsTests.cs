using FailoverOperator.Failover;
using FailoverOperator.Manifests;
using FailoverOperator.Testing;

namespace FailoverOperator.UnitTests;

/// <summary>
/// The README's HighAvailabilityGroup reference and the CRD's descriptions (kubectl explain) are one
/// text: the C# [Description]s. Code formatting (backticks, quotes) aside, they must say the same.
/// </summary>
public class ReferenceDocsTests
{
    [Theory]
    [InlineData("spec")]
    [InlineData("status")]
    public void TheReadmeReferenceSaysWhatTheCrdSays(string part)
    {
        var schema = CrdGenerator.For(typeof(HighAvailabilityGroup)).Spec.Versions.Single().Schema.OpenAPIV3Schema.Properties[part];
        var rows = ReferenceRows(part);
        Assert.Equal(schema.Properties.Keys.Order(), rows.Keys.Order());
        foreach (var (field, fieldSchema) in schema.Properties)
        {
            Assert.True(Plain(rows[field]) == Plain(fieldSchema.Description),
                $"{part}.{field}: README says \"{rows[field]}\", the C# [Description] says \"{fieldSchema.Description}\"");
        }
    }

    /// <summary>The rows of the README table whose header starts with "| {part} field", by field: the last cell.</summary>
    private static Dictionary<string, string> ReferenceRows(string part)
    {
        var lines = File.ReadAllLines(RepoPaths.Of("README.md"))
            .SkipWhile(l => !l.StartsWith($"| {part} field", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith('|'));
        return lines.Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`'), cells => cells[^2]);
    }

    private static string Plain(string? text) => (text ?? "").Replace("`", "").Replace("\"", "");
}
