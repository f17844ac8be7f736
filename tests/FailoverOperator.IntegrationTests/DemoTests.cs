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

        var (_, status) = await RunDemoAsync("simulated pods", "--mode=simulated");

        Assert.Equal(status.LastFailover!.To, await WaitForActiveAsync("demo", "demo"));
    }
}
