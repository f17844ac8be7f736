using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>What the CRD schema cannot refuse on Kubernetes 1.20, refused before any write.</summary>
public class SpecValidationTests
{
    private static HighAvailabilityGroupSpec Spec(Dictionary<string, string>? labels = null, V1LabelSelectorRequirement? expression = null,
        string roleKey = HighAvailabilityGroupSpec.DefaultRoleLabelKey) => new()
    {
        Selector = new V1LabelSelector
        {
            MatchLabels = labels ?? (expression is null ? new Dictionary<string, string> { ["app"] = "db" } : null),
            MatchExpressions = expression is null ? null : [expression],
        },
        RoleLabelKey = roleKey,
    };

    private static V1LabelSelectorRequirement Requirement(string key, string op, IList<string>? values = null) =>
        new() { Key = key, OperatorProperty = op, Values = values };

    private static string Problems(HighAvailabilityGroupSpec spec) => string.Join("\n", SpecValidation.Problems(spec));

    [Fact]
    public void AValidSpecHasNoProblems()
    {
        Assert.Empty(SpecValidation.Problems(Spec()));
        Assert.Empty(SpecValidation.Problems(Spec(expression: Requirement("tier", "In", ["a", "b"]), roleKey: "example.com/role")));
    }

    [Fact]
    public void ARoleLabelKeyTheSelectorUsesIsRefusedNamingTheClash()
    {
        Assert.Contains("spec.roleLabelKey \"tier\" is also a key of spec.selector",
            Problems(Spec(new Dictionary<string, string> { ["tier"] = "x" }, roleKey: "tier")));
        Assert.Contains("is also a key of spec.selector", Problems(Spec(expression: Requirement("tier", "Exists"), roleKey: "tier")));
    }

    [Theory]
    [InlineData("bad key!", "\"bad key!\" is not a valid label key")]
    [InlineData("-starts-with-dash", "is not a valid label key")]
    [InlineData("UPPER.example.com/role", "is not a valid label key")]
    [InlineData("", "is not a valid label key")]
    public void AnInvalidRoleLabelKeyIsRefused(string roleKey, string expected) => Assert.Contains(expected, Problems(Spec(roleKey: roleKey)));

    [Fact]
    public void AnEmptySelectorIsRefused() =>
        Assert.Contains("spec.selector is empty", Problems(new HighAvailabilityGroupSpec { Selector = new V1LabelSelector() }));

    [Theory]
    [InlineData("In", null, "operator In needs at least one value")]
    [InlineData("Exists", "x", "operator Exists takes no values")]
    [InlineData("Equals", "x", "\"Equals\" is not one of In, NotIn, Exists, DoesNotExist")]
    [InlineData("NotIn", "not valid!", "\"not valid!\" is not a valid label value")]
    public void ABadSelectorExpressionIsRefused(string op, string? value, string expected) =>
        Assert.Contains(expected, Problems(Spec(expression: Requirement("tier", op, value is null ? null : [value]))));

    [Fact]
    public void AMatchLabelValueNoPodCanCarryIsRefused() =>
        Assert.Contains("is not a valid label value, so no pod can match it", Problems(Spec(new Dictionary<string, string> { ["app"] = new string('x', 64) })));
}
