/**
 * The schema of a contact's custom fields, apart so that both the contact
 * model and a rejected row's error (which `Contact` depends on) can use it.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

export const CustomFieldValue = Schema.Union([Schema.String, Schema.Finite, Schema.Boolean, Schema.Null])

export const CustomFields = Schema.Record(Schema.String, CustomFieldValue)
