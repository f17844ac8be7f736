using System.Diagnostics;

namespace FailoverOperator.Testing;

/// <summary>Waits on a condition with a deadline (never a blind sleep).</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds. An exception it throws counts as "not yet" (the
    /// API may be briefly unavailable), except a <see cref="WaitAbortedException"/> or a test framework's
    /// assertion failure, which end the wait at once.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? describe = null)
    {
        var watch = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e) when (!EndsTheWait(e))
            {
                last = e;
            }
            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}{await DescribeAsync(describe)}" +
                    (last is null ? "" : $"\nlast error: {last.GetType().Name}: {last.Message}{(last is k8s.Autorest.HttpOperationException h ? $" {h.Response?.Content}" : "")}"));
            }
            await Task.Delay(25);
        }
    }

    // This library serves the benchmark and the demo too, so it cannot reference xunit: its assertion
    // failures are recognised by their namespace.
    private static bool EndsTheWait(Exception e) =>
        e is WaitAbortedException || e.GetType().Namespace?.StartsWith("Xunit", StringComparison.Ordinal) == true;

    // A description that fails (say, the object it reads is gone) must not hide what timed out.
    private static async Task<string> DescribeAsync(Func<Task<string>>? describe)
    {
        if (describe is null) return "";
        try { return $"\nlast state: {await describe()}"; }
        catch (Exception e) { return $"\n(describing the state failed: {e.Message})"; }
    }
}

/// <summary>Thrown by a waited-on condition when waiting longer cannot help (say, the process it waits for exited).</summary>
public sealed class WaitAbortedException(string message) : Exception(message);
