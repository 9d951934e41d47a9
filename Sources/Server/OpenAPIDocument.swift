import CalotypeCore

/// `GET /openapi.json`: the API described in OpenAPI 3.1. Kept beside the
/// routes and checked by a test that every documented operation is served;
/// both recipe spellings' schemas are written from the operations'
/// declarations (`RecipeSchema`), and CI runs schemathesis against it.
enum OpenAPIDocument {
    /// The document for a server that takes recipes of at most `maxOperations` operations.
    static func json(maxOperations: Int) -> String {
        template
            .replacingOccurrences(of: "\"$RECIPE_JSON_SCHEMA\"", with: RecipeSchema.json(maxOperations: maxOperations).text)
            .replacingOccurrences(of: "\"$RECIPE_SHORTHAND_SCHEMA\"", with: RecipeSchema.shorthand().text)
            .replacingOccurrences(of: "\"$BOOLEAN_OPTION\"", with: RecipeSchema.shorthandBoolean.merging(["default": false]).text)
            .replacingOccurrences(of: "\"$ERROR_CODE\"", with: enumeration(APIErrorCode.allCases.map(\.rawValue)))
            .replacingOccurrences(of: "\"$EVENT_NAME\"", with: enumeration(APIBatchEvent.Name.allCases.map(\.rawValue)))
    }

    /// A string schema of these values, from the vocabulary's enums.
    private static func enumeration(_ values: [String]) -> String {
        #"{"type": "string", "enum": ["# + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]}"
    }

    private static let template = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Calotype",
            "version": "0.1.0",
            "description": "Image processing over HTTP: single images, batches, and batches streamed as Server-Sent Events. Recipes go in the query string (the shorthand of docs/recipes.md) or in a multipart field `recipe` holding the JSON recipe."
          },
          "paths": {
            "/health": {
              "get": {
                "summary": "Whether the server can serve, and its backends.",
                "responses": {
                  "200": {"description": "Serving (status ok or degraded).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                  "503": {"description": "Not serving (status unavailable).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
                }
              }
            },
            "/ready": {
              "get": {
                "summary": "Readiness for a load balancer: 200 while the server takes new work; 503 from the moment a shutdown begins (it drains), or when no backend can serve.",
                "responses": {
                  "200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
                  "503": {"description": "Not ready, and why (draining, not accepting jobs, no healthy backend).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}}
                }
              }
            },
            "/stats": {
              "get": {
                "summary": "Scheduler statistics per lane and counts per endpoint.",
                "responses": {"200": {"description": "Statistics.", "content": {"application/json": {"schema": {"type": "object", "required": ["scheduler", "endpoints"]}}}}}
              }
            },
            "/cluster": {
              "get": {
                "summary": "Cluster mode: the nodes (workers, last heartbeat, items held), the items per state and the queued items per pool. 404 when the server is not a cluster node.",
                "responses": {
                  "200": {"description": "The cluster.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cluster"}}}},
                  "404": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "Prometheus metrics.",
                "responses": {"200": {"description": "Text format 0.0.4.", "content": {"text/plain": {"schema": {"type": "string"}}}}}
              }
            },
            "/process": {
              "post": {
                "summary": "Process one image.",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {
                  "required": true,
                  "content": {
                    "multipart/form-data": {
                      "schema": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}, "recipe": {"$ref": "#/components/schemas/Recipe"}}},
                      "encoding": {"recipe": {"contentType": "application/json"}}
                    },
                    "image/*": {"schema": {"type": "string", "format": "binary"}}
                  }
                },
                "responses": {
                  "200": {
                    "description": "The processed image.",
                    "headers": {
                      "X-Calotype-Backend": {"schema": {"type": "string"}},
                      "X-Calotype-Fallback": {"schema": {"type": "string", "enum": ["true", "false"]}},
                      "X-Calotype-Duration-Ms": {"schema": {"type": "string"}},
                      "X-Calotype-Width": {"schema": {"type": "string"}},
                      "X-Calotype-Height": {"schema": {"type": "string"}}
                    },
                    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}
                  },
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/process-batch": {
              "post": {
                "summary": "Process images one after another; one answer, results in input order.",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Inline"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {"$ref": "#/components/requestBodies/Files"},
                "responses": {
                  "200": {"description": "Every item's outcome.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchAnswer"}}}},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/process-batch-stream": {
              "post": {
                "summary": "Process images one after another, streaming progress, result, error and complete events.",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Inline"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {"$ref": "#/components/requestBodies/Files"},
                "responses": {
                  "200": {"$ref": "#/components/responses/EventStream"},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/process-batch-fast": {
              "post": {
                "summary": "The same stream with up to MAX_WORKERS items in flight; results in completion order. 403 parallel_disabled when ENABLE_PARALLEL=false.",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Inline"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {"$ref": "#/components/requestBodies/Files"},
                "responses": {
                  "200": {"$ref": "#/components/responses/EventStream"},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/process-and-save": {
              "post": {
                "summary": "Process one image (file) or a batch (files) and store each result in the configured sink (a folder, or an HTTP endpoint).",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Inline"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {"$ref": "#/components/requestBodies/FileOrFiles"},
                "responses": {
                  "200": {"description": "Every item stored; saved_to says where.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchAnswer"}}}},
                  "502": {"description": "Storing failed for some item (error code save_failed); its result is still at its url.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchAnswer"}}}},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/batches": {
              "post": {
                "summary": "Start a batch as a resource: it runs whether anyone listens or not (items in parallel unless ENABLE_PARALLEL=false); follow it at events_url, read it at status_url. 503 overloaded with Retry-After while CALOTYPE_MAX_BATCHES batches run. No inline option (400 inline_unavailable): its events are kept for replay, and each result is at its url.",
                "parameters": [{"$ref": "#/components/parameters/Backend"}, {"$ref": "#/components/parameters/Strict"}, {"$ref": "#/components/parameters/Recipe"}],
                "requestBody": {"$ref": "#/components/requestBodies/Files"},
                "responses": {
                  "202": {
                    "description": "Accepted and running.",
                    "headers": {"Location": {"schema": {"type": "string"}, "description": "The status_url."}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchCreated"}}}
                  },
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/batches/{id}": {
              "get": {
                "summary": "Where the batch stands and every result so far, in input order. Finished batches are kept for CALOTYPE_RESULT_TTL seconds.",
                "parameters": [{"$ref": "#/components/parameters/BatchID"}],
                "responses": {
                  "200": {"description": "The batch.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchStatus"}}}},
                  "404": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}
                }
              },
              "delete": {
                "summary": "Cancel the items not finished (queued ones never run; running ones are stopped, each reported with error code cancelled), answer with the batch's last state once it is over, and forget it (its status and events are 404 after); results stay at their urls.",
                "parameters": [{"$ref": "#/components/parameters/BatchID"}],
                "responses": {
                  "200": {"description": "The batch, now cancelled (or completed, if it had already ended).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchStatus"}}}},
                  "404": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/batches/{id}/events": {
              "get": {
                "summary": "The batch's events over GET, for EventSource: every event since the start, or after Last-Event-ID, then live ones until complete. Ids count up from 1 and are the same on every connection.",
                "parameters": [
                  {"$ref": "#/components/parameters/BatchID"},
                  {"name": "Last-Event-ID", "in": "header", "schema": {"type": "integer", "minimum": 0, "maximum": 9007199254740991}, "description": "The last event seen; EventSource sends it when it reconnects. Not a number: 400 invalid_last_event_id; ahead of the batch's latest event: 409."},
                  {"name": "last_event_id", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 9007199254740991}, "description": "The same, for clients that cannot set headers; the header wins."}
                ],
                "responses": {
                  "200": {"$ref": "#/components/responses/EventStream"},
                  "204": {"description": "The batch is over and the client has seen every event: EventSource stops reconnecting."},
                  "400": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/results/{id}": {
              "get": {
                "summary": "A batch result's bytes, kept for CALOTYPE_RESULT_TTL seconds.",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                  "200": {"description": "The result.", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}},
                  "404": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/img/{signature}/{options}/{source}": {
              "get": {
                "summary": "An image by reference, processed: imgproxy's URL format and signatures. Cacheable: ETag, If-None-Match (304), Cache-Control, Vary: Accept.",
                "parameters": [
                  {"name": "signature", "in": "path", "required": true, "schema": {"type": "string"}, "description": "base64url(HMAC-SHA256(key, salt + the path after this segment)), or insecure / _ where CALOTYPE_ALLOW_UNSIGNED is true."},
                  {"name": "options", "in": "path", "required": true, "schema": {"type": "string"}, "description": "imgproxy processing options, name:arg:arg, slash separated (rs, s, rt, w, h, el, g, c, rot, bl, sh, q, f, sm, pr); an option Calotype does not have is refused by name."},
                  {"name": "source", "in": "path", "required": true, "schema": {"type": "string"}, "description": "plain/{percent-encoded URL}[@extension], or the URL base64url-encoded [.extension]; http(s)://, s3:// or local:/// under CALOTYPE_ALLOWED_SOURCES."},
                  {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}, "description": "An ETag this answered before: 304 without processing when it still matches."},
                  {"name": "Accept", "in": "header", "schema": {"type": "string"}, "description": "With no format in the URL: image/avif, then image/webp, if listed (CALOTYPE_IMG_NEGOTIATE), else the source's format."}
                ],
                "responses": {
                  "200": {
                    "description": "The processed image.",
                    "headers": {
                      "ETag": {"schema": {"type": "string"}},
                      "Cache-Control": {"schema": {"type": "string"}},
                      "Vary": {"schema": {"type": "string"}},
                      "Last-Modified": {"schema": {"type": "string"}},
                      "X-Calotype-Backend": {"schema": {"type": "string"}},
                      "X-Calotype-Width": {"schema": {"type": "string"}},
                      "X-Calotype-Height": {"schema": {"type": "string"}}
                    },
                    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}
                  },
                  "304": {"description": "Not modified: If-None-Match names this answer's ETag."},
                  "default": {"$ref": "#/components/responses/Error"}
                }
              }
            },
            "/": {
              "get": {
                "summary": "A web page to try the API: pick or drop images, watch results stream in.",
                "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}}
              }
            },
            "/openapi.json": {
              "get": {
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}}
              }
            }
          },
          "components": {
            "parameters": {
              "Backend": {"name": "backend", "in": "query", "schema": {"type": "string", "enum": ["auto", "cpu", "gpu"], "default": "auto"}, "description": "Where jobs run; gpu falls back to the CPU (marked) unless strict."},
              "Strict": {"name": "strict", "in": "query", "schema": "$BOOLEAN_OPTION", "description": "Refuse instead of falling back to another kind of backend."},
              "BatchID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The batch_id POST /batches answered with."},
              "Inline": {"name": "inline", "in": "query", "schema": "$BOOLEAN_OPTION", "description": "Add each result's bytes as base64 data."},
              "Recipe": {"name": "recipe", "in": "query", "style": "form", "explode": true, "schema": "$RECIPE_SHORTHAND_SCHEMA", "description": "The recipe in the flat shorthand (docs/recipes.md); an operation is switched on by any of its keys. Not together with a JSON recipe in the body."}
            },
            "requestBodies": {
              "FileOrFiles": {
                "required": true,
                "content": {"multipart/form-data": {
                  "schema": {"type": "object", "anyOf": [{"required": ["file"]}, {"required": ["files"]}, {"required": ["files[]"]}], "properties": {"file": {"type": "string", "format": "binary"}, "files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}, "files[]": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}, "recipe": {"$ref": "#/components/schemas/Recipe"}}},
                  "encoding": {"recipe": {"contentType": "application/json"}}
                },
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchByReference"}}}
              },
              "Files": {
                "required": true,
                "content": {"multipart/form-data": {
                  "schema": {"type": "object", "anyOf": [{"required": ["files"]}, {"required": ["files[]"]}], "properties": {"files": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}}, "files[]": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"}, "description": "The same as files (a form's name for several)."}, "recipe": {"$ref": "#/components/schemas/Recipe"}}},
                  "encoding": {"recipe": {"contentType": "application/json"}}
                },
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchByReference"}}}
              }
            },
            "responses": {
              "Error": {"description": "Every error: a specific code and a message.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "EventStream": {"description": "Server-Sent Events: progress (queued, started, done), one result or error per item, complete last; every event has an id.", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/Event"}}}}
            },
            "schemas": {
              "Recipe": "$RECIPE_JSON_SCHEMA",
              "BatchByReference": {
                "type": "object", "required": ["sources"], "additionalProperties": false,
                "description": "A batch by reference: the images are named, each fetched when a worker is free for it.",
                "properties": {
                  "sources": {"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "string"}, "description": "http(s)://, s3://bucket/key or local:///path, each under CALOTYPE_ALLOWED_SOURCES."},
                  "recipe": {"$ref": "#/components/schemas/Recipe"},
                  "options": {"type": "string", "description": "The recipe in the shorthand (width=800&format=webp); not together with recipe."},
                  "destination": {"type": "string", "description": "s3://bucket/prefix/ under CALOTYPE_ALLOWED_DESTINATIONS: each result is written there (saved_to)."}
                }
              },
              "Event": {
                "type": "object", "required": ["event", "data", "id"], "description": "One event of the stream; data is JSON: a progress record, a BatchItem, or the BatchAnswer without results.",
                "properties": {"event": "$EVENT_NAME", "id": {"type": "string", "pattern": "^[0-9]+$"}, "data": {"type": "string", "contentMediaType": "application/json"}, "retry": {"type": "integer"}}
              },
              "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": "$ERROR_CODE", "message": {"type": "string"}}}}
              },
              "Health": {
                "type": "object", "required": ["status", "version", "uptime_s", "parallel_enabled", "backends"],
                "properties": {
                  "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
                  "version": {"type": "string"}, "uptime_s": {"type": "number"}, "parallel_enabled": {"type": "boolean"},
                  "backends": {"type": "array", "items": {"type": "object", "required": ["name", "kind", "device", "workers", "healthy", "quarantined_until"], "properties": {
                    "name": {"type": "string"}, "kind": {"type": "string", "enum": ["cpu", "gpu"]}, "device": {"type": "string"}, "workers": {"type": "integer"},
                    "healthy": {"type": "boolean"}, "quarantined_until": {"type": ["string", "null"], "format": "date-time"}, "self_check": {"type": "string"}}}},
                  "cluster": {"type": "object", "required": ["node", "database_reachable", "claims"], "properties": {
                    "node": {"type": "string"}, "database_reachable": {"type": "boolean"}, "claims": {"type": "integer"}}}
                }
              },
              "Ready": {
                "type": "object", "required": ["ready"],
                "properties": {"ready": {"type": "boolean"}, "reason": {"type": "string"}}
              },
              "Cluster": {
                "type": "object", "required": ["node", "nodes", "items", "queued"],
                "properties": {
                  "node": {"type": "string"},
                  "nodes": {"type": "array", "items": {"type": "object", "required": ["name", "cpu_workers", "gpu_workers", "last_heartbeat_s", "running"], "properties": {
                    "name": {"type": "string"}, "cpu_workers": {"type": "integer"}, "gpu_workers": {"type": "integer"}, "last_heartbeat_s": {"type": "number"}, "running": {"type": "integer"}}}},
                  "items": {"type": "object", "additionalProperties": {"type": "integer"}},
                  "queued": {"type": "object", "additionalProperties": {"type": "integer"}}
                }
              },
              "BatchItem": {
                "type": "object", "required": ["index", "status"],
                "properties": {
                  "batch_id": {"type": "string"}, "index": {"type": "integer"}, "filename": {"type": "string"}, "status": {"type": "string", "enum": ["ok", "error"]},
                  "backend": {"type": "string"}, "fallback": {"type": "boolean"}, "width": {"type": "integer"}, "height": {"type": "integer"}, "format": {"type": "string"},
                  "bytes": {"type": "integer"}, "duration_ms": {"type": "number"}, "url": {"type": "string"}, "saved_to": {"type": "string"}, "data": {"type": "string", "contentEncoding": "base64"},
                  "error": {"type": "object", "properties": {"code": "$ERROR_CODE", "message": {"type": "string"}}}
                }
              },
              "BatchAnswer": {
                "type": "object", "required": ["batch_id", "total", "succeeded", "failed", "cancelled", "duration_ms", "results"],
                "properties": {"batch_id": {"type": "string"}, "total": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"}, "cancelled": {"type": "integer"}, "duration_ms": {"type": "number"}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/BatchItem"}}}
              },
              "BatchCreated": {
                "type": "object", "required": ["batch_id", "status", "total", "events_url", "status_url"],
                "properties": {"batch_id": {"type": "string"}, "status": {"type": "string", "enum": ["running"]}, "total": {"type": "integer"}, "events_url": {"type": "string"}, "status_url": {"type": "string"}}
              },
              "BatchStatus": {
                "type": "object", "required": ["batch_id", "status", "total", "completed", "succeeded", "failed", "cancelled", "created_at", "events_url", "status_url", "last_event_id", "results"],
                "properties": {
                  "batch_id": {"type": "string"}, "status": {"type": "string", "enum": ["running", "completed", "cancelled"]},
                  "total": {"type": "integer"}, "completed": {"type": "integer", "description": "Items with a result or an error so far."},
                  "succeeded": {"type": "integer"}, "failed": {"type": "integer"}, "cancelled": {"type": "integer"},
                  "duration_ms": {"type": "number", "description": "Once the batch is over."}, "created_at": {"type": "string", "format": "date-time"},
                  "events_url": {"type": "string"}, "status_url": {"type": "string"},
                  "last_event_id": {"type": "integer", "description": "The latest event's id: send it as Last-Event-ID to read only what comes next."},
                  "results": {"type": "array", "items": {"$ref": "#/components/schemas/BatchItem"}}
                }
              }
            }
          }
        }
        """#
}
