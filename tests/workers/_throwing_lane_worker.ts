import { serveFaulty } from "./_faulty_lane.ts";
serveFaulty("throw");
