using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests;

/// <summary>`make demo`'s program in its simulated mode (the real-node mode is in RealNodeTests).</summary>
[Collection(ControlPlaneCollection.Name)]
public class DemoTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    [Fact]
    public async Task TheSimulatedDemoFailsOverAndPrintsItsTimeline()
    {
        await StartOperatorAsync();

        var run = await DemoProgram.RunAsync(Plane.KubeconfigPath, Ns, "--mode=simulated");
        Output.WriteLine(run.Output);

        Assert.True(run.ExitCode == 0, $"the demo exited with {run.ExitCode}:\n{run.Output}");
        Assert.Contains("mode: simulated pods", run.Stdout);
        Assert.Matches(@"\d+\.\d ms  Endpoints switched", run.Stdout);
        var status = (await GetGroupAsync("demo")).Status!;
        Assert.Equal((GroupPhase.Healthy, 1, FailoverReasons.NotReady), (status.Phase, status.FailoverCount, status.LastFailover!.Reason));
        Assert.Equal(status.LastFailover.To, await WaitForActiveAsync("demo", "demo"));
    }
}
