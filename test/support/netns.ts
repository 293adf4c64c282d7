// Test topologies use the lab's namespace helper (agent/lab/netns.ts).
export { Topology, sh } from '../lab/netns';
