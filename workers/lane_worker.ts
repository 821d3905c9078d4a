/**
 * Lane worker: the entry point of the worker that runs delay pipelines off the receiving thread
 * (see {@linkcode serveLanes}).
 *
 * @module
 */

import { serveLanes, type WorkerScope } from "./lane_service.ts";

declare const self: WorkerScope;

serveLanes(self);
