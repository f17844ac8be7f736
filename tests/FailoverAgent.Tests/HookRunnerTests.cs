using System.Diagnostics;
using FailoverAgent.Kube;
using FailoverAgent.Roles;

namespace FailoverAgent.Tests;

/// <summary>The hook rules on real shell scripts: exit 0 done, 1 retried, ≥ 2 given up, a hang killed at the timeout.</summary>
public sealed class HookRunnerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("agent-hooks-").FullName;
    private readonly List<HookAttempt> runs = [];
    private static readonly RoleChange Change = new(new AgentIdentity("g", "ns", "pod-a"), RoleChange.Active, "NotReady", 7);

    private HookRunner Runner(TimeSpan? timeout = null, int attempts = 3) =>
        new(new HookPolicy(timeout ?? TimeSpan.FromSeconds(10), attempts, TimeSpan.FromMilliseconds(20)), run => { lock (runs) runs.Add(run); });

    private string Script(string name, string body)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public async Task Exit_0_is_done_after_one_run_and_the_hook_sees_the_role_change()
    {
        var seen = Path.Combine(dir, "seen");
        var hook = Script("ok.sh", $"echo \"$FAILOVER_GROUP $FAILOVER_NAMESPACE $FAILOVER_POD $FAILOVER_ROLE $FAILOVER_REASON $FAILOVER_PLANNED $FAILOVER_TERM\" > {seen}");

        Assert.True(await Runner().RunCommandAsync("on-promote", hook, Change, CancellationToken.None));

        Assert.Equal("g ns pod-a active NotReady false 7", File.ReadAllText(seen).Trim());
        var run = Assert.Single(runs);
        Assert.Equal((HookOutcome.Succeeded, 0, 7L, 1), (run.Outcome, run.ExitCode, run.Term, run.Attempt));
    }

    [Fact]
    public async Task Exit_1_is_retried_with_backoff_until_the_attempts_are_spent()
    {
        var hook = Script("flaky.sh", "echo not yet; exit 1");

        Assert.False(await Runner(attempts: 3).RunCommandAsync("on-promote", hook, Change, CancellationToken.None));

        Assert.Equal([1, 2, 3], runs.Select(r => r.Attempt));
        Assert.All(runs, r => Assert.Equal((HookOutcome.Failed, 1, "not yet"), (r.Outcome, r.ExitCode, r.Output)));
        Assert.Equal([true, true, false], runs.Select(r => r.WillRetry));
    }

    [Fact]
    public async Task Exit_1_then_0_succeeds_on_the_second_run()
    {
        var hook = Script("second.sh", $"[ \"$FAILOVER_HOOK_ATTEMPT\" = 2 ] && exit 0; exit 1");

        Assert.True(await Runner().RunCommandAsync("on-promote", hook, Change, CancellationToken.None));

        Assert.Equal([HookOutcome.Failed, HookOutcome.Succeeded], runs.Select(r => r.Outcome));
    }

    [Fact]
    public async Task Exit_2_or_more_gives_up_at_once()
    {
        var hook = Script("broken.sh", "echo cannot >&2; exit 3");

        Assert.False(await Runner().RunCommandAsync("on-demote", hook, Change, CancellationToken.None));

        var run = Assert.Single(runs);
        Assert.Equal((HookOutcome.Failed, 3, false, "cannot"), (run.Outcome, run.ExitCode, run.WillRetry, run.Output));
    }

    [Fact]
    public async Task A_hanging_hook_is_killed_at_its_timeout_with_everything_it_started()
    {
        var childPid = Path.Combine(dir, "child.pid");
        var hook = Script("hang.sh", $"sleep 300 & echo $! > {childPid}; wait");
        var clock = Stopwatch.StartNew();

        Assert.False(await Runner(timeout: TimeSpan.FromMilliseconds(500), attempts: 1).RunCommandAsync("on-promote", hook, Change, CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
        Assert.Equal(HookOutcome.TimedOut, Assert.Single(runs).Outcome);
        var pid = int.Parse(File.ReadAllText(childPid).Trim());
        Assert.True(await ProcessGoneAsync(pid), $"the hook's child {pid} survived the timeout");
    }

    [Fact]
    public async Task A_timeout_counts_as_a_retryable_failure()
    {
        var hook = Script("slow-then-ok.sh", "[ \"$FAILOVER_HOOK_ATTEMPT\" = 2 ] && exit 0; sleep 300");

        Assert.True(await Runner(timeout: TimeSpan.FromMilliseconds(300)).RunCommandAsync("on-promote", hook, Change, CancellationToken.None));

        Assert.Equal([HookOutcome.TimedOut, HookOutcome.Succeeded], runs.Select(r => r.Outcome));
    }

    /// <summary>Waits (with a deadline) until the pid is gone or a zombie.</summary>
    internal static async Task<bool> ProcessGoneAsync(int pid)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat)) return true;
            try { if (File.ReadAllText(stat).Split(' ')[2] == "Z") return true; } catch (IOException) { return true; }
            await Task.Delay(20);
        }
        return false;
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
