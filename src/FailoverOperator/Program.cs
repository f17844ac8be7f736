using FailoverOperator.Hosting;
using Microsoft.Extensions.Logging.Console;
using Prometheus;

var parsed = OperatorOptions.Command.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"failover-operator: {error.Message}");
    Console.Error.WriteLine("See failover-operator --help.");
    return 2;
}
if (parsed.Action is not null)
{
    // --help, --version: System.CommandLine's own actions print and exit.
    return await parsed.InvokeAsync();
}
var options = OperatorOptions.From(parsed);

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
if (options.LogFormat == "json") builder.Logging.AddJsonConsole(o => o.TimestampFormat = "O");
else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.ColorBehavior = LoggerColorBehavior.Disabled; });
builder.Logging.SetMinimumLevel(options.LogLevel);
// The framework's own info logs are noise for an operator; its warnings and errors are not.
builder.Logging.AddFilter("Microsoft", options.LogLevel > LogLevel.Warning ? options.LogLevel : LogLevel.Warning);

builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(options.BindAddress, options.MetricsPort);
    if (options.HealthPort != options.MetricsPort) k.Listen(options.BindAddress, options.HealthPort);
});

KubernetesClients clients;
try
{
    clients = new KubernetesClients(options.Kubeconfig);
}
catch (Exception e)
{
    Console.Error.WriteLine($"failover-operator: cannot load the Kubernetes client configuration ({e.Message}). " +
        "Pass --kubeconfig=PATH, set KUBECONFIG, or run in a cluster.");
    return 2;
}

builder.Services.AddSingleton(options);
builder.Services.AddSingleton(clients);
builder.Services.AddSingleton<OperatorService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<OperatorService>());

var app = builder.Build();
app.MapGet("/healthz", (OperatorService op) => op.UnhealthyReason is { } reason ? Results.Text(reason, statusCode: 503) : Results.Text("ok"));
app.MapGet("/readyz", (OperatorService op) => op.NotReadyReason is { } reason ? Results.Text(reason, statusCode: 503) : Results.Text("ok"));
app.MapMetrics("/metrics");
await app.RunAsync();
return Environment.ExitCode;
