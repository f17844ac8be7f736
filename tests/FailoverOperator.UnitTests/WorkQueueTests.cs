using FailoverOperator.Runtime;

namespace FailoverOperator.UnitTests;

public class WorkQueueTests
{
    private static async Task<string?> Next(WorkQueue queue)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await queue.GetAsync(timeout.Token);
    }

    [Fact]
    public async Task AKeyAddedManyTimesIsHandedOutOnce()
    {
        using var queue = new WorkQueue();
        queue.Add("ns/a");
        queue.Add("ns/a");
        queue.Add("ns/b");
        queue.Add("ns/a");

        Assert.Equal("ns/a", await Next(queue));
        Assert.Equal("ns/b", await Next(queue));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task AKeyIsNeverHandedToTwoWorkersAtOnce()
    {
        using var queue = new WorkQueue();
        queue.Add("ns/a");
        var key = await Next(queue);

        queue.Add("ns/a"); // changed while being processed
        queue.Add("ns/b");
        Assert.Equal("ns/b", await Next(queue));
        using (var brief = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.GetAsync(brief.Token));
        }

        queue.Done(key!);
        Assert.Equal("ns/a", await Next(queue)); // handed out again only after Done
    }

    [Fact]
    public void FailuresBackOffExponentiallyPerKeyUpToTheCap()
    {
        using var queue = new WorkQueue(baseDelay: TimeSpan.FromMilliseconds(5), maxDelay: TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(5), queue.BackoffFor(1));
        Assert.Equal(TimeSpan.FromMilliseconds(40), queue.BackoffFor(4));
        Assert.Equal(TimeSpan.FromSeconds(1), queue.BackoffFor(30));

        queue.AddRateLimited("ns/a");
        queue.AddRateLimited("ns/a");
        queue.AddRateLimited("ns/b");
        Assert.Equal(2, queue.Failures("ns/a"));
        Assert.Equal(1, queue.Failures("ns/b"));
        queue.Forget("ns/a");
        Assert.Equal(0, queue.Failures("ns/a"));
    }

    [Fact]
    public async Task AddAfterDeliversTheKeyOnceTheDelayHasPassed()
    {
        var clock = new ManualClock();
        using var queue = new WorkQueue(clock);
        queue.AddAfter("ns/a", TimeSpan.FromSeconds(30));
        queue.AddAfter("ns/a", TimeSpan.FromSeconds(10)); // the earlier wake-up wins
        Assert.Equal(0, queue.Depth);

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("ns/a", await Next(queue));
        Assert.Equal(0, queue.Depth);
    }

    [Fact]
    public async Task ShutDownReleasesWaitingWorkers()
    {
        using var queue = new WorkQueue();
        var waiting = queue.GetAsync(CancellationToken.None).AsTask();
        queue.ShutDown();
        Assert.Null(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>A clock whose timers fire only when the test advances it.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private readonly List<(DateTimeOffset Due, TimerCallback Callback, object? State)> timers = [];
        private DateTimeOffset now = DateTimeOffset.UnixEpoch;

        public override DateTimeOffset GetUtcNow() => now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var entry = (now + dueTime, callback, state);
            timers.Add(entry);
            return new Handle(() => timers.Remove(entry));
        }

        public void Advance(TimeSpan by)
        {
            now += by;
            foreach (var timer in timers.Where(t => t.Due <= now).ToList())
            {
                timers.Remove(timer);
                timer.Callback(timer.State);
            }
        }

        private sealed class Handle(Action remove) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => false;
            public void Dispose() => remove();
            public ValueTask DisposeAsync() { remove(); return ValueTask.CompletedTask; }
        }
    }
}
