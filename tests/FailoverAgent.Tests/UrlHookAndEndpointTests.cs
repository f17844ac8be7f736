using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FailoverAgent.Hosting;
using FailoverAgent.Kube;
using FailoverAgent.Roles;

namespace FailoverAgent.Tests;

/// <summary>URL hooks against a real local HTTP server, and the agent's own /healthz and /role.</summary>
public sealed class UrlHookAndEndpointTests : IDisposable
{
    private static readonly RoleChange Change = new(new AgentIdentity("g", "ns", "pod-a"), RoleChange.Standby, "Switchover", 9);
    private readonly int port = FreePort();
    private readonly HttpListener application = new();
    private readonly HttpClient http = new();
    private readonly List<HookAttempt> runs = [];

    public UrlHookAndEndpointTests()
    {
        application.Prefixes.Add($"http://127.0.0.1:{port}/");
        application.Start();
    }

    /// <summary>The application: answers each POST with the next status and keeps the bodies.</summary>
    private async Task<List<string>> AnswerAsync(params int[] statuses)
    {
        var bodies = new List<string>();
        foreach (var status in statuses)
        {
            var context = await application.GetContextAsync();
            bodies.Add(await new StreamReader(context.Request.InputStream).ReadToEndAsync());
            context.Response.StatusCode = status;
            context.Response.Close();
        }
        return bodies;
    }

    private Task<bool> PostAsync() =>
        new HookRunner(new HookPolicy(TimeSpan.FromSeconds(5), 3, TimeSpan.FromMilliseconds(20)), runs.Add)
            .RetryAsync("demote-url", Change.Term, _ => new UrlHook(http, new HookPolicy(TimeSpan.FromSeconds(5), 3, TimeSpan.Zero))
                .PostOnceAsync(new Uri($"http://127.0.0.1:{port}/demote"), Change, CancellationToken.None), CancellationToken.None);

    [Fact]
    public async Task A_5xx_is_retried_and_the_body_is_the_role_change_as_json()
    {
        var answered = AnswerAsync(503, 200);

        Assert.True(await PostAsync());

        var body = JsonDocument.Parse((await answered)[1]).RootElement;
        Assert.Equal(("g", "ns", "pod-a", "standby", "Switchover", true, 9L),
            (body.GetProperty("group").GetString(), body.GetProperty("namespace").GetString(), body.GetProperty("pod").GetString(),
             body.GetProperty("role").GetString(), body.GetProperty("reason").GetString(), body.GetProperty("planned").GetBoolean(),
             body.GetProperty("term").GetInt64()));
        Assert.Equal([HookOutcome.Failed, HookOutcome.Succeeded], runs.Select(r => r.Outcome));
    }

    [Fact]
    public async Task A_4xx_gives_up_at_once()
    {
        var answered = AnswerAsync(404);

        Assert.False(await PostAsync());

        await answered;
        Assert.Equal((404, false), (Assert.Single(runs).ExitCode, runs[0].WillRetry));
    }

    [Fact]
    public async Task Healthz_says_why_the_agent_is_unhealthy_and_role_answers_json()
    {
        var endpointPort = FreePort();
        string? problem = null;
        using var endpoint = new StatusEndpoint(endpointPort, () => problem, () => new RoleReport("active", 4, "pod-a", "2026-01-01T00:00:00.000Z", "17"));
        endpoint.Start();
        using var stop = new CancellationTokenSource();
        var serving = endpoint.RunAsync(stop.Token);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{endpointPort}/healthz")).StatusCode);
        problem = "the fencing loop has not run for 6.0 s";
        var unhealthy = await http.GetAsync($"http://127.0.0.1:{endpointPort}/healthz");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, problem), (unhealthy.StatusCode, (await unhealthy.Content.ReadAsStringAsync()).Trim()));
        var role = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{endpointPort}/role")).RootElement;
        Assert.Equal(("active", 4L, "pod-a"), (role.GetProperty("role").GetString(), role.GetProperty("term").GetInt64(), role.GetProperty("holder").GetString()));

        stop.Cancel();
        await serving.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        application.Close();
        http.Dispose();
    }
}
