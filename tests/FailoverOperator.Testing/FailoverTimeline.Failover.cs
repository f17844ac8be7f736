using FailoverOperator.Failover;

namespace FailoverOperator.Testing;

public sealed partial class FailoverTimeline
{
    public sealed class Failover
    {
        private readonly FailoverTimeline timeline;
        private readonly List<(long At, EndpointsView View)> endpointHistory = [];
        private readonly TaskCompletionSource<FailoverResult> done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Failover(FailoverTimeline timeline, string group, string failedPod, string? service)
        {
            this.timeline = timeline;
            Group = group;
            FailedPod = failedPod;
            Service = service;
        }

        public string Group { get; }
        public string FailedPod { get; }
        public string? Service { get; }
        public long Sent { get; internal set; }
        public long Acked { get; internal set; }
        public long? FailureObserved { get; private set; }
        public long? LeaseMoved { get; private set; }
        public string? NewHolder { get; private set; }
        public long? Labelled { get; private set; }
        public string? NewActive { get; private set; }
        public long? EndpointsSwitched { get; private set; }

        /// <summary>Waits for completion; on timeout, says which milestone is missing.</summary>
        public async Task<FailoverResult> WaitAsync(TimeSpan timeout)
        {
            try
            {
                return await done.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                timeline.Forget(this);
                var missing = LeaseMoved is null ? "the Lease to move" : Labelled is null ? "a new active to be labelled" : "the Endpoints to list only the new active";
                throw new TimeoutException($"failover of {Group} (failed {FailedPod}) incomplete after {timeout.TotalSeconds:0.#} s: waiting for {missing}; state: {timeline.Describe()}");
            }
        }

        internal void OnPod(PodView? pod, string name, long at)
        {
            if (pod is null) return;
            if (name == FailedPod && FailureObserved is null && !pod.Ready) FailureObserved = at;
            if (name != FailedPod && Labelled is null && pod.Role == Roles.Active)
            {
                Labelled = at;
                NewActive = name;
            }
            Check();
        }

        internal void OnLease(string? holder, long at)
        {
            if (LeaseMoved is null && !string.IsNullOrEmpty(holder) && holder != FailedPod)
            {
                LeaseMoved = at;
                NewHolder = holder;
            }
            Check();
        }

        internal void OnEndpoints(EndpointsView view, long at)
        {
            endpointHistory.Add((at, view));
            Check();
        }

        internal void Check()
        {
            if (Acked == 0 || LeaseMoved is null || Labelled is null || done.Task.IsCompleted) return;
            if (Service is not null && EndpointsSwitched is null)
            {
                // The Endpoints watch is a separate stream: its switch may arrive before the label event,
                // so the history is kept and searched once the new active (and so its IP) is known.
                var ip = timeline.pods.GetValueOrDefault(NewActive!)?.Ip;
                foreach (var (when, view) in endpointHistory)
                {
                    if (view.ListsOnly(ip))
                    {
                        EndpointsSwitched = when;
                        break;
                    }
                }
                if (EndpointsSwitched is null) return;
            }
            timeline.Forget(this);
            done.TrySetResult(new FailoverResult(Group, FailedPod, NewActive!, NewHolder!, Sent, Acked, FailureObserved, LeaseMoved.Value, Labelled.Value, EndpointsSwitched));
        }
    }
}
