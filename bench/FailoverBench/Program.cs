using FailoverBench;
using FailoverOperator.Testing;

// Watch loops, timers and a burst of concurrent writes share two busy cores with the control plane:
// start with enough pool threads that no continuation waits for the pool to grow.
ThreadPool.SetMinThreads(32, 32);

return await BenchCommandLine.Build(async options =>
{
    try
    {
        using var cluster = Cluster.Connect(options.Kubeconfig);
        return await BenchCommand.RunAsync(cluster, options);
    }
    catch (Exception e) when (e is TimeoutException or InvalidOperationException or k8s.Autorest.HttpOperationException or HttpRequestException
                                  or TaskCanceledException or IOException)
    {
        Console.Error.WriteLine($"FailoverBench: error: {FailoverOperator.Runtime.ApiErrors.Describe(e)}");
        return 1;
    }
}).Parse(args).InvokeAsync();
