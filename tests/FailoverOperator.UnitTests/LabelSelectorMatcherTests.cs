using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.UnitTests;

public class LabelSelectorMatcherTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["app"] = "db", ["tier"] = "data" };

    private static V1LabelSelectorRequirement Req(string key, string op, params string[] values) =>
        new() { Key = key, OperatorProperty = op, Values = values };

    [Fact]
    public void MatchLabelsMustAllBePresentWithTheSameValue()
    {
        Assert.True(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } }, Labels));
        Assert.False(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "web" } }, Labels));
        Assert.False(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["zone"] = "a" } }, Labels));
    }

    [Theory]
    [InlineData("In", true, "db", "cache")]
    [InlineData("In", false, "web")]
    [InlineData("NotIn", true, "web")]
    [InlineData("NotIn", false, "db")]
    [InlineData("Exists", true)]
    [InlineData("DoesNotExist", false)]
    [InlineData("Bogus", false)]
    public void ExpressionsFollowTheApiServersRules(string op, bool expected, params string[] values)
    {
        Assert.Equal(expected, LabelSelectorMatcher.Matches(new V1LabelSelector { MatchExpressions = [Req("app", op, values)] }, Labels));
    }

    [Fact]
    public void AbsentKeysSatisfyNotInAndDoesNotExist()
    {
        Assert.True(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchExpressions = [Req("zone", "NotIn", "a")] }, Labels));
        Assert.True(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchExpressions = [Req("zone", "DoesNotExist")] }, Labels));
    }

    [Fact]
    public void NoSelectorSelectsNothing()
    {
        Assert.False(LabelSelectorMatcher.Matches(null, Labels));
        Assert.False(LabelSelectorMatcher.Matches(new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } }, null));
    }

    [Fact]
    public void DescribeUsesTheQueryStringForm()
    {
        var selector = new V1LabelSelector
        {
            MatchLabels = new Dictionary<string, string> { ["app"] = "db" },
            MatchExpressions = [Req("tier", "In", "data", "cache"), Req("canary", "DoesNotExist")],
        };
        Assert.Equal("app=db,tier in (data,cache),!canary", LabelSelectorMatcher.Describe(selector));
    }
}
