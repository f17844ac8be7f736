using System.Diagnostics;
using FailoverAgent.Kube;
using FailoverAgent.Roles;

namespace FailoverAgent.Tests;

/// <summary>`run` mode's process handling on real processes.</summary>
public sealed class WrappedCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("agent-run-").FullName;
    private static RoleChange Up(long term) => new(new AgentIdentity("g", "ns", "pod-a"), RoleChange.Active, "Assigned", term);
    private static RoleChange Down(long term) => new(new AgentIdentity("g", "ns", "pod-a"), RoleChange.Standby, "HolderChanged", term);

    [Fact]
    public async Task Promotion_starts_the_command_with_its_term_and_demotion_stops_it_with_SIGTERM()
    {
        var marker = Path.Combine(dir, "running");
        var wrapped = new WrappedCommand(["/bin/sh", "-c", $"echo $FAILOVER_TERM $$ > {marker}; trap 'exit 0' TERM; while true; do sleep 0.05; done"],
            TimeSpan.FromSeconds(5), _ => Assert.Fail("exited by itself"));

        await wrapped.PromoteAsync(Up(4), CancellationToken.None);
        var (term, pid) = await ReadMarkerAsync(marker);
        Assert.Equal("4", term);
        var clock = Stopwatch.StartNew();
        await wrapped.DemoteAsync(Down(4), CancellationToken.None);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), "SIGTERM was enough: no wait for the grace");
        Assert.True(await HookRunnerTests.ProcessGoneAsync(pid));
    }

    [Fact]
    public async Task A_command_that_ignores_SIGTERM_is_killed_after_the_grace_and_demotion_waits_for_it()
    {
        var marker = Path.Combine(dir, "stubborn");
        var wrapped = new WrappedCommand(["/bin/sh", "-c", $"trap '' TERM; echo x $$ > {marker}; while true; do sleep 0.05; done"],
            TimeSpan.FromMilliseconds(500), _ => { });

        await wrapped.PromoteAsync(Up(1), CancellationToken.None);
        var (_, pid) = await ReadMarkerAsync(marker);
        var clock = Stopwatch.StartNew();
        await wrapped.DemoteAsync(Down(1), CancellationToken.None);

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
        Assert.True(await HookRunnerTests.ProcessGoneAsync(pid));
    }

    [Fact]
    public async Task Past_the_terms_deadline_there_is_no_grace_left_the_command_is_killed_at_once()
    {
        var marker = Path.Combine(dir, "late");
        var wrapped = new WrappedCommand(["/bin/sh", "-c", $"trap '' TERM; echo x $$ > {marker}; while true; do sleep 0.05; done"],
            TimeSpan.FromSeconds(30), _ => { });

        await wrapped.PromoteAsync(Up(1), CancellationToken.None);
        var (_, pid) = await ReadMarkerAsync(marker);
        var clock = Stopwatch.StartNew();
        await wrapped.DemoteAsync(Down(1) with { StopBy = FailoverAgent.Hosting.MonotonicClock.Now - TimeSpan.FromSeconds(1) }, CancellationToken.None);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"waited {clock.Elapsed} of a 30 s grace after the deadline");
        Assert.True(await HookRunnerTests.ProcessGoneAsync(pid));
    }

    [Fact]
    public async Task A_command_that_exits_by_itself_while_active_is_reported_with_its_code()
    {
        var exited = new TaskCompletionSource<int>();
        var wrapped = new WrappedCommand(["/bin/sh", "-c", "exit 42"], TimeSpan.FromSeconds(1), code => exited.TrySetResult(code));

        await wrapped.PromoteAsync(Up(1), CancellationToken.None);

        Assert.Equal(42, await exited.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static async Task<(string Term, int Pid)> ReadMarkerAsync(string path)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (File.Exists(path) && File.ReadAllText(path).Trim().Split(' ') is [var term, var pid]) return (term, int.Parse(pid));
            await Task.Delay(20);
        }
        throw new TimeoutException($"{path} never written");
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
