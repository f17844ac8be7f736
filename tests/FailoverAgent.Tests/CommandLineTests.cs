using FailoverAgent.Hosting;

namespace FailoverAgent.Tests;

public class CommandLineTests
{
    [Theory]
    [InlineData("60s", 60)]
    [InlineData("500ms", 0.5)]
    [InlineData("2m", 120)]
    [InlineData("7", 7)]
    public void Durations_take_a_unit(string raw, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), AgentCommandLine.ParseDuration(raw));

    [Fact]
    public void The_defaults_are_the_documented_ones()
    {
        var parsed = AgentCommandLine.Root.Parse(["sidecar", "--group=g", "--pod=p", "--namespace=n"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(new AgentOptions("g", "n", "p", Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } k ? k : null, 8095, TimeSpan.FromSeconds(30)),
            AgentCommandLine.Common(parsed).Options);
        Assert.Equal((TimeSpan.FromSeconds(60), 5), (parsed.GetValue(AgentCommandLine.HookTimeout), parsed.GetValue(AgentCommandLine.HookAttempts)));
    }

    [Fact]
    public void Run_takes_the_command_after_the_double_dash()
    {
        var parsed = AgentCommandLine.Root.Parse(["run", "--group=g", "--grace=2s", "--", "sh", "-c", "echo --not-ours"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(["sh", "-c", "echo --not-ours"], parsed.GetValue(AgentCommandLine.Command)!);
        Assert.Equal(TimeSpan.FromSeconds(2), parsed.GetValue(AgentCommandLine.Grace));
    }

    [Fact]
    public void A_bad_duration_and_a_missing_group_are_errors()
    {
        Assert.NotEmpty(AgentCommandLine.Root.Parse(["run", "--group=g", "--grace=soon", "--", "x"]).Errors);
        Assert.NotEmpty(AgentCommandLine.Root.Parse(["sidecar"]).Errors);
    }
}
