export { sweepMaintenance } from "./maintenance-sweeper";
