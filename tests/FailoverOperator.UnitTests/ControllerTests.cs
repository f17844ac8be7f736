using FailoverOperator.Runtime;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.UnitTests;

/// <summary>The workers of a controller that stops and runs again in the same process (leadership lost and regained).</summary>
public class ControllerTests
{
    /// <summary>The first reconcile of each key hangs until cancelled; the later ones succeed at once.</summary>
    private sealed class HangingOnce : IReconciler
    {
        private readonly HashSet<string> seen = [];
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<string> Reconciled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken cancellationToken)
        {
            bool first;
            lock (seen) first = seen.Add(key);
            if (!first)
            {
                Reconciled.TrySetResult(key);
                return null;
            }
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return null;
        }
    }

    [Fact]
    public async Task AReconcileCancelledWhenTheWorkersStopIsDoneWhenTheyRunAgain()
    {
        var reconciler = new HangingOnce();
        var controller = new Controller("test", reconciler, workers: 2, NullLogger<Controller>.Instance);
        controller.Enqueue("ns/group");

        using (var stop = new CancellationTokenSource())
        {
            var workers = controller.RunAsync(stop.Token);
            await reconciler.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
            await workers.WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.False(reconciler.Reconciled.Task.IsCompleted);

        using var again = new CancellationTokenSource();
        var rerun = controller.RunAsync(again.Token);
        Assert.Equal("ns/group", await reconciler.Reconciled.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await again.CancelAsync();
        await rerun.WaitAsync(TimeSpan.FromSeconds(10));
        controller.ShutDown();
    }
}
