using System.Diagnostics;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>Waits on a condition with a deadline (never a blind sleep).</summary>
public static class Wait
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

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
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
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

    // A description that fails (say, the object it reads is gone) must not hide what timed out.
    private static async Task<string> DescribeAsync(Func<Task<string>>? describe)
    {
        if (describe is null) return "";
        try { return $"\nlast state: {await describe()}"; }
        catch (Exception e) { return $"\n(describing the state failed: {e.Message})"; }
    }
}
