using System.Net;
using FailoverOperator.Hosting;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.UnitTests;

public class OperatorOptionsTests
{
    private static OperatorOptions Parse(params string[] args)
    {
        var parsed = OperatorOptions.Command.Parse(args);
        Assert.Empty(parsed.Errors);
        return OperatorOptions.From(parsed);
    }

    private static string Error(params string[] args) =>
        string.Join("\n", OperatorOptions.Command.Parse(args).Errors.Select(e => e.Message));

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var o = Parse();
        Assert.Equal((IPAddress.Any, 8080, 8081, false, "failover-operator-leader", 15, "text", LogLevel.Information, 32),
            (o.BindAddress, o.MetricsPort, o.HealthPort, o.LeaderElect, o.LeaderElectionName, (int)o.LeaderElectionLeaseDuration.TotalSeconds,
             o.LogFormat, o.LogLevel, o.Workers));
        Assert.Equal(32, OperatorOptions.DefaultWorkers);
        Assert.False(string.IsNullOrEmpty(o.Identity));
    }

    [Fact]
    public void TheChartsSpellingParses()
    {
        var o = Parse("--leader-elect=true", "--leader-election-namespace=ops", "--metrics-port=9090", "--log-format=json",
            "--log-level=debug", "--workers=4", "--namespace=apps", "--bind-address=127.0.0.1");
        Assert.Equal((true, "ops", 9090, "json", LogLevel.Debug, 4, "apps", IPAddress.Loopback),
            (o.LeaderElect, o.LeaderElectionNamespace, o.MetricsPort, o.LogFormat, o.LogLevel, o.Workers, o.Namespace, o.BindAddress));
    }

    [Theory]
    [InlineData("--workers=0", "--workers=0: expected a whole number from 1 to 1024")]
    [InlineData("--leader-election-lease-seconds=1", "expected a whole number from 2 to 3600")]
    [InlineData("--bind-address=localhost", "--bind-address=localhost: not an IP address")]
    [InlineData("--log-level=verbose", "verbose")]
    [InlineData("--no-such-option", "--no-such-option")]
    public void ABadValueIsAnErrorNamingIt(string arg, string expected) => Assert.Contains(expected, Error(arg));
}
